//! The shop's API docs: every service's Swagger UI is one page for the whole shop (a dropdown
//! of the six public specs, one Authorize for all, kept across reloads), and each spec is
//! written for admins: the service described, the participants' `/internal/` operations in a
//! spec and page of their own (served on the same port, routed by no Ingress), and each
//! operation listing only the statuses it can answer.
//!
//! An operation's own statuses are written in its doc comment, one per line (`404: no such
//! order, or another user's.`): they become its responses' descriptions and leave its
//! description. The statuses its shape implies are added with the shop's wording: 400 and 422
//! for an operation with a body or parameters, 401 for one that needs a token, 413 and 415 for
//! one with a body, and 503 for every one.

use serde_json::{Map, Value, json};

use crate::topology::{SERVICES, ServiceInfo};

/// Where the internal operations live.
const INTERNAL: &str = "/internal/";

/// The shop's wording of the statuses an operation's shape implies.
fn implied(op: &Map<String, Value>) -> Vec<(&'static str, &'static str)> {
    let body = op.contains_key("requestBody");
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let mut statuses = Vec::new();
    if body || params {
        statuses.push((
            "400",
            "The body or a parameter does not parse (malformed JSON, a wrong type, a missing field).",
        ));
        statuses.push((
            "422",
            "A value is invalid; `errors` names each field and what is wrong with it.",
        ));
    }
    if secured {
        statuses.push((
            "401",
            "The bearer token is missing, invalid or expired: log in and Authorize again.",
        ));
    }
    if body {
        statuses.push(("413", "The body is larger than 1 MiB."));
        statuses.push(("415", "The body is not `application/json`."));
    }
    statuses.push((
        "503",
        "The service is unavailable for a moment (its database, a peer, or load it sheds); retry after `Retry-After` seconds.",
    ));
    statuses
}

/// The shop's wording of a parameter that means the same wherever it is (`path`: the
/// operation's), with its default and an example where it has them.
fn parameter(path: &str, param: &mut Map<String, Value>) {
    let name = param
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let of_path = || {
        // `/orders/{id}/cancel`: "the order's id".
        let segments: Vec<&str> = path.split('/').collect();
        let at = segments
            .iter()
            .position(|s| *s == format!("{{{name}}}"))
            .unwrap_or(0);
        let thing = segments[..at]
            .iter()
            .rev()
            .find(|s| !s.is_empty() && !s.starts_with('{'))
            .map(|s| s.trim_end_matches('s'))
            .unwrap_or("resource");
        match name {
            "user_id" => "The user's id (a UUID).".to_owned(),
            "order_id" => "The order's id (a UUID).".to_owned(),
            _ => format!("The {thing}'s id (a UUID)."),
        }
    };
    let (description, default) = match (param.get("in").and_then(Value::as_str), name) {
        (Some("path"), _) => (of_path(), None),
        (_, "limit") => {
            let most = param
                .get("schema")
                .and_then(|s| s.get("maximum"))
                .and_then(Value::as_f64)
                .map_or(100, |m| m as u64);
            (format!("How many items a page holds, 1 to {most}."), Some(json!(20)))
        }
        (_, "after") => (
            "Where the page starts: after this order id, the `next` of the page before; leave it out for the first page."
                .to_owned(),
            None,
        ),
        (_, "apply") => (
            "`true` makes the repairs; left out (or `false`), the answer only says what they would be."
                .to_owned(),
            None,
        ),
        (_, "cursor") => (
            "Where the page starts: the `next_cursor` of the page before; leave it out for the first page."
                .to_owned(),
            None,
        ),
        (_, "Idempotency-Key") => (
            "Any string of 1 to 255 characters you choose for this request (a UUID, say). Sent again with the same key, the request is answered as the first time and has no second effect; keys are kept at least 24 hours, per user."
                .to_owned(),
            None,
        ),
        (_, "Last-Event-ID") => (
            "The id of the last message you received: the messages stored after it come first."
                .to_owned(),
            None,
        ),
        (_, "status") => ("Only the orders in this status.".to_owned(), None),
        (_, "user_id") => ("Only this user's.".to_owned(), None),
        (_, "order_id") => ("Only those about this order.".to_owned(), None),
        _ => return,
    };
    param.insert("description".into(), description.into());
    // An operation that declares its own default keeps it.
    if let (Some(default), Some(Value::Object(schema))) = (default, param.get_mut("schema")) {
        schema.entry("default").or_insert(default);
    }
}

/// Splits `NNN: wording` lines off a description: the description left, and the statuses.
fn declared(description: &str) -> (String, Vec<(String, String)>) {
    let mut kept = Vec::new();
    let mut statuses: Vec<(String, String)> = Vec::new();
    for line in description.lines() {
        let status = line
            .split_once(": ")
            .filter(|(code, _)| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()));
        match (status, statuses.last_mut()) {
            (Some((code, wording)), _) => statuses.push((code.to_owned(), wording.to_owned())),
            // A status's wording may go on over the next lines.
            (None, Some(last)) if !line.trim().is_empty() => {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            (None, _) => kept.push(line),
        }
    }
    (kept.join("\n").trim().to_owned(), statuses)
}

/// Rewrites one operation's responses: its successes, what it declares, what its shape implies.
fn document(op: &mut Map<String, Value>) {
    let description = op
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (description, own) = declared(&description);
    match description.is_empty() {
        true => op.remove("description"),
        false => op.insert("description".into(), description.into()),
    };
    let implied = implied(op);
    let Some(Value::Object(responses)) = op.get_mut("responses") else {
        return;
    };
    let generated = responses.clone();
    let problem = generated
        .iter()
        .find(|(code, r)| !code.starts_with('2') && r.get("content").is_some())
        .map(|(_, r)| r.clone());
    // Its successes: those it declares, when it declares any (a shared answer type may list a
    // 201 that only its sibling answers), else all it has.
    let own_successes: Vec<String> = own
        .iter()
        .filter(|(c, _)| c.starts_with('2'))
        .map(|(c, _)| c.clone())
        .collect();
    responses.retain(|code, _| {
        code.starts_with('2') && (own_successes.is_empty() || own_successes.contains(code))
    });
    let wording = implied
        .into_iter()
        .map(|(c, w)| (c.to_owned(), w.to_owned()))
        .chain(own);
    for (code, wording) in wording {
        // Its own schema where the operation has one (an order's refusal), else the problem's.
        let mut response = generated
            .get(&code)
            .or(problem.as_ref())
            .cloned()
            .unwrap_or_else(|| json!({}));
        response["description"] = wording.into();
        responses.insert(code, response);
    }
}

/// `raw` (a service's whole spec) as admins read it: described, with only the operations whose
/// path `keep` accepts, each documented.
fn written(raw: &str, about: &str, keep: impl Fn(&str) -> bool) -> String {
    let Ok(mut spec) = serde_json::from_str::<Value>(raw) else {
        return raw.to_owned();
    };
    spec["info"]["description"] = about.into();
    if let Some(Value::Object(paths)) = spec.get_mut("paths") {
        paths.retain(|path, _| keep(path));
        for (path, ops) in paths.iter_mut() {
            for op in ops.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
                let Some(op) = op.as_object_mut() else {
                    continue;
                };
                document(op);
                let params = op.get_mut("parameters").and_then(Value::as_array_mut);
                for param in params
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object_mut)
                {
                    parameter(path, param);
                }
            }
        }
    }
    let used: Vec<String> = spec["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .filter_map(Value::as_object)
        .flat_map(|ops| ops.values())
        .filter_map(|op| op["security"].as_array())
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|s| s.keys().cloned())
        .collect();
    if let Some(Value::Object(schemes)) = spec.pointer_mut("/components/securitySchemes") {
        schemes.retain(|name, _| used.contains(name));
    }
    keep_used_schemas(&mut spec);
    if let Some(Value::Object(schemas)) = spec.pointer_mut("/components/schemas") {
        for schema in schemas.values_mut() {
            // An optional field left out of an example means "unchanged"; `null` would be a
            // value its schema does not allow.
            if let Some(Value::Object(example)) = schema.get_mut("example") {
                example.retain(|_, v| !v.is_null());
            }
        }
    }
    spec["info"]["contact"] = serde_json::json!({"name": "The shop's maintainers"});
    spec.to_string()
}

/// Drops the schemas no kept operation refers to, directly or through another schema: the
/// internal operations' schemas are not part of the public spec, nor the public ones of the
/// internal spec.
fn keep_used_schemas(spec: &mut Value) {
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => {
                            if let Some(name) = r.strip_prefix("#/components/schemas/") {
                                found.push(name.to_owned());
                            }
                        }
                        _ => refs(v, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut wanted = Vec::new();
    refs(&spec["paths"], &mut wanted);
    let mut used = std::collections::HashSet::new();
    while let Some(name) = wanted.pop() {
        if used.insert(name.clone())
            && let Some(schema) = spec.pointer(&format!("/components/schemas/{name}"))
        {
            refs(schema, &mut wanted);
        }
    }
    if let Some(Value::Object(schemas)) = spec.pointer_mut("/components/schemas") {
        schemas.retain(|name, _| used.contains(name));
    }
}

/// The public spec of a service: everything but `/internal/`.
pub fn public_spec(raw: &str, service: &ServiceInfo) -> String {
    written(raw, service.about, |path| !path.starts_with(INTERNAL))
}

/// The internal spec of a service: its `/internal/` operations alone (`None`: it has none).
pub fn internal_spec(raw: &str, service: &ServiceInfo) -> Option<String> {
    let about = format!(
        "{}'s service-to-service operations (`/internal/`), called with the internal token. \
         Served on the service's own port, routed by no Ingress.",
        service.name
    );
    let spec = written(raw, &about, |path| path.starts_with(INTERNAL));
    let has_paths = serde_json::from_str::<Value>(&spec)
        .ok()
        .and_then(|s| s["paths"].as_object().map(|p| !p.is_empty()))
        .unwrap_or(false);
    has_paths.then_some(spec)
}

/// Where a service's public spec is.
pub fn spec_path(service: &ServiceInfo) -> String {
    format!("/{}/openapi.json", service.short)
}

/// Where a service's internal spec is.
pub fn internal_spec_path(service: &ServiceInfo) -> String {
    format!("/{}/internal/openapi.json", service.short)
}

/// The services that have internal operations.
pub const WITH_INTERNAL: [&str; 4] = ["payment", "stock", "delivery", "notify"];

/// One Swagger UI page for the whole shop, from poem-openapi's page (`html`, which carries
/// Swagger UI itself): a selector of the six public specs (`internal`: the service's internal
/// spec alone) above it, `service`'s first unless `?urls.primaryName=` names another; the authorization kept
/// across reloads and shared by every spec (they share the scheme's name); each request's
/// duration shown; a title that names the page.
pub fn page(html: &str, service: &ServiceInfo, internal: bool) -> String {
    // The internal page shows its own service's alone: the others' are on their own ports, which
    // no shared origin reaches.
    let specs: Vec<Value> = SERVICES
        .iter()
        .filter(|s| !internal || s.short == service.short)
        .map(|s| {
            let url = match internal {
                true => internal_spec_path(s),
                false => spec_path(s),
            };
            json!({"url": url, "name": s.name})
        })
        .collect();
    let title = match internal {
        true => format!("{} internal API · the shop", service.name),
        false => format!("{} API · the shop", service.name),
    };
    let config = json!({
        "persistAuthorization": true,
        "displayRequestDuration": true,
        "docExpansion": "list",
    })
    .to_string();
    let config = config.trim_start_matches('{').trim_end_matches('}');
    let bar = r#"<div class="shop-bar" style="padding:10px 20px;background:#1b1b1b;color:#fff;font-family:sans-serif">
<label>The shop's API: <select id="shop-spec" style="font-size:14px"></select></label></div>
<div id="ui"></div>"#;
    let script = format!(
        r#"<script>
(function () {{
  const specs = {specs};
  const asked = new URLSearchParams(window.location.search).get("urls.primaryName");
  const first = specs.find(s => s.name === asked) || specs.find(s => s.name === {own}) || specs[0];
  const select = document.getElementById("shop-spec");
  for (const s of specs) {{
    const option = document.createElement("option");
    option.value = s.url; option.textContent = s.name; option.selected = s === first;
    select.appendChild(option);
  }}
  select.addEventListener("change", () => {{
    const s = specs.find(s => s.url === select.value);
    window.ui.specActions.updateUrl(s.url);
    window.ui.specActions.download(s.url);
    history.replaceState(null, "", "?urls.primaryName=" + encodeURIComponent(s.name));
  }});
  window.shopFirstSpec = first.url;
}})();
</script>"#,
        specs = Value::from(specs),
        own = Value::from(service.name),
    );
    html.replacen(
        "<title>Swagger UI</title>",
        &format!("<title>{title}</title>"),
        1,
    )
    .replacen(r#"<div id="ui"></div>"#, &format!("{bar}\n{script}"), 1)
    .replacen("SwaggerUIBundle({", "window.ui = SwaggerUIBundle({", 1)
    .replacen(
        "spec: spec,",
        &format!("url: window.shopFirstSpec, {config},"),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_keeps_its_own_statuses_and_those_its_shape_implies() {
        let mut op = json!({
            "description": "Gets it.\n\n404: no such order,\nor another user's.\n409: not now.",
            "parameters": [{"name": "id"}],
            "security": [{"UserAuth": []}],
            "responses": {"200": {"description": "ok"}, "402": {"description": "funds"},
                          "404": {"description": "shared", "content": {"x": 1}}}
        });
        let Some(map) = op.as_object_mut() else {
            panic!("an object")
        };
        document(map);
        let codes: Vec<&String> = op["responses"]
            .as_object()
            .map(|r| r.keys().collect())
            .unwrap_or_default();
        assert_eq!(codes, ["200", "400", "401", "404", "409", "422", "503"]);
        assert_eq!(
            op["responses"]["404"]["description"],
            "no such order, or another user's."
        );
        assert_eq!(
            op["responses"]["404"]["content"]["x"], 1,
            "the problem's schema stays"
        );
        assert_eq!(op["description"], "Gets it.");
    }

    #[test]
    fn parameters_are_described_alike_everywhere() {
        let mut id = json!({"name": "id", "in": "path", "schema": {}});
        let mut limit = json!({"name": "limit", "in": "query", "schema": {"type": "integer"}});
        for p in [&mut id, &mut limit] {
            if let Some(p) = p.as_object_mut() {
                parameter("/orders/{id}/cancel", p);
            }
        }
        assert_eq!(id["description"], "The order's id (a UUID).");
        assert_eq!(limit["schema"]["default"], 20);
    }

    #[test]
    fn the_page_lists_the_six_specs_with_the_service_first() {
        let html = r#"<title>Swagger UI</title><div id="ui"></div> SwaggerUIBundle({ spec: spec, dom_id: '#ui' })"#;
        let page = page(html, &crate::topology::ORDER, false);
        assert!(page.contains("<title>order-svc API · the shop</title>"));
        assert!(page.contains(r#"specs.find(s => s.name === "order-svc")"#));
        assert!(page.contains(r#""persistAuthorization":true"#));
        assert!(page.contains("window.ui = SwaggerUIBundle({ url: window.shopFirstSpec,"));
        for s in SERVICES {
            assert!(page.contains(&spec_path(&s)), "{}", s.name);
        }
        assert!(!page.contains("spec: spec"));
    }
}
