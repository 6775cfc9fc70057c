use serde_json::json;
use shop_tests::answer::User;
use shop_tests::{Order, Page, TestShop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_validates_every_field_and_refuses_duplicates() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let good = json!({"username": "ann", "password": "password1", "email": "ann@example.com",
        "first_name": "Ann", "last_name": "Lee", "phone": "+4912345678", "is_admin": true});
    let registered = api.post_user(good.clone()).await;
    let wire = registered.body.clone();
    assert!(wire.get("password").is_none() && wire.get("password_hash").is_none());
    let user: User = registered.ok_as(201);
    assert!(!user.is_admin, "is_admin in the body is ignored");
    api.post_user(good.clone()).await.problem(409);
    let mut other = good.clone();
    other["username"] = json!("ann2");
    let problem = api.post_user(other).await.problem(409);
    assert!(
        problem.detail.contains("email"),
        "duplicate email: {problem:?}"
    );
    // Each invalid field alone is a 422 that names it, and registers nobody.
    for (field, value) in [
        ("username", json!("a b")),
        ("username", json!("x".repeat(33))),
        ("password", json!("short")),
        ("password", json!("p".repeat(129))),
        ("email", json!("nope")),
        ("email", json!(format!("{}@example.com", "e".repeat(250)))),
        ("first_name", json!("")),
        ("last_name", json!("   ")),
        ("last_name", json!("n".repeat(101))),
        ("phone", json!("12345")),
    ] {
        let mut bad = good.clone();
        bad["username"] = json!("carol");
        bad["email"] = json!("carol@example.com");
        bad[field] = value;
        let problem = api.post_user(bad).await.problem(422);
        assert_eq!(problem.errors[0].field, field, "{problem:?}");
    }
    assert_eq!(api.login("carol", "password1").await.0, 401);
    api.post_user(json!({"username": "bob"})).await.problem(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_does_not_tell_users_apart_and_throttles_failures() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    api.register("ann").await;
    let (s1, wrong) = api.login("ann", "wrong-password").await;
    let (s2, unknown) = api.login("nobody", "wrong-password").await;
    assert_eq!((s1.as_u16(), s2.as_u16()), (401, 401));
    assert_eq!(
        wrong, unknown,
        "the same answer whether the user exists or not"
    );
    let (status, by_email) = api.login("ann@example.com", "password-ann").await;
    assert_eq!(status, 200, "{by_email}");
    assert_eq!(by_email["token_type"], "Bearer");
    for _ in 0..9 {
        assert_eq!(api.login("ann", "wrong-password").await.0, 401);
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/auth/login", api.user))
        .json(&json!({"username": "ann", "password": "password-ann"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        429,
        "locked out even with the right password"
    );
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_ownership_are_enforced() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let admin = api.admin().await;
    let ann = api.register("ann").await;
    let bob = api.register("bob").await;
    api.get_balance(None).await.problem(401);
    api.get_balance(Some("not.a.token")).await.problem(401);
    api.list_users(Some(&ann.token)).await.problem(403);
    let body = json!({"name": "Tea", "price": 1, "quantity": 1});
    api.post_product(Some(&ann.token), body).await.problem(403);
    let users: Page<User> = api.list_users(Some(&admin.token)).await.ok_as(200);
    assert_eq!(users.items.len(), 3);

    api.deposit(&ann, 100).await;
    let product = api.add_product(&admin, 10, 5).await;
    api.add_courier(&admin, 5).await;
    let order: Order = api.order(&ann, product, 1, None).await.ok_as(201);
    for (who, expected) in [(&bob, 404), (&ann, 200), (&admin, 200)] {
        let name = &who.username;
        let status = api.get_order(who, order.id).await.status;
        assert_eq!(status, expected, "{name} on the order");
        let status = api.get_delivery(who, order.id).await.status;
        assert_eq!(status, expected, "{name} on the delivery");
    }
    let bobs: Page<Order> = api.list_orders(&bob, "").await.ok_as(200);
    assert!(bobs.items.is_empty());
    assert_eq!(api.messages(&bob).await.len(), 0);
    let query = format!("user_id={}", ann.id);
    let all: Page<Order> = api.admin_orders(&admin, &query).await.ok_as(200);
    assert_eq!(all.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_password_needs_the_current_one() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let ann = api.register("ann").await;
    let problem = api
        .update_me(&ann, json!({"password": "new-password"}))
        .await
        .problem(422);
    assert_eq!(problem.errors[0].field, "current_password");
    let wrong = json!({"password": "new-password", "current_password": "nope-nope"});
    api.update_me(&ann, wrong).await.problem(403);
    let right = json!({"password": "new-password", "current_password": "password-ann", "first_name": "Annie"});
    let me: User = api.update_me(&ann, right).await.ok_as(200);
    assert_eq!(me.first_name.as_deref(), Some("Annie"));
    assert_eq!(api.login("ann", "password-ann").await.0, 401);
    assert_eq!(api.login("ann", "new-password").await.0, 200);
}
