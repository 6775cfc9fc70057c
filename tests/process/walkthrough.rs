//! The README's first steps, as a newcomer takes them: the front door's `/` leads to the docs
//! page, and the curl walk-through, taken from the README as written (only its address and data
//! directory pointed at this test's shop), prints exactly what the README says each step
//! prints (its `→` lines).

use super::*;

/// The README's curl walk-through: the shell block under "### With curl".
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let section = readme
        .split("### With curl")
        .nth(1)
        .expect("a curl walk-through in the README");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("its shell block");
    block.to_owned()
}

/// What the README says each step prints: its `→` lines, without a closing remark in
/// parentheses set apart by spaces.
fn promised(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("#").map(str::trim))
        .filter_map(|l| l.strip_prefix("→ "))
        .map(|l| l.split("    (").next().unwrap_or(l).trim_end().to_owned())
        .collect()
}

/// Whether `tool` runs here.
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_prints_what_the_readme_says() {
    if !(have("jq") && have("curl")) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs jq and curl for the walk-through"
        );
        println!("walk-through: skipped, it needs jq and curl");
        return;
    }
    let dbs = Databases::fresh().await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data_dir(&dbs, &data);
    let base = free_base_port();
    // The walk-through sets the admin's password itself from the data directory.
    let _child = ShopProcess(
        command(&dbs, &data_dir, base, &[])
            .env_remove("SHOP_ADMIN_PASSWORD")
            .spawn()
            .unwrap(),
    );
    wait_ready(base).await;
    let front = format!("http://127.0.0.1:{}", base - 1);

    // The front door's first page is the docs page.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = http.get(format!("{front}/")).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let page = first.headers()["location"].to_str().unwrap().to_owned();
    let docs = http.get(format!("{front}{page}")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));

    let script = walkthrough();
    let expected = promised(&script);
    assert!(expected.len() > 10, "the README promises {expected:?}");
    let pointed: String = script
        .lines()
        .map(|l| {
            if l.starts_with("SHOP=") {
                format!("SHOP={front}")
            } else if l.starts_with("DATA=") {
                format!("DATA={}", data_dir.display())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let ran =
        // A shop that stops answering fails the test in two minutes rather than hang it.
        tokio::task::spawn_blocking(move || {
            Command::new("timeout")
                .args(["120", "bash", "-c"])
                .arg(&pointed)
                .output()
        })
            .await
            .unwrap()
            .unwrap();
    let printed: Vec<String> = String::from_utf8_lossy(&ran.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    println!("walk-through printed:\n{}", printed.join("\n"));
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert_eq!(printed, expected, "what the README promises, step by step");
}
