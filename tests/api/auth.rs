use reqwest::Method;
use serde_json::json;
use shop_tests::TestShop;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_validates_every_field_and_refuses_duplicates() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let url = format!("{}/users", api.user);
    let good = json!({"username": "ann", "password": "password1", "email": "ann@example.com",
        "first_name": "Ann", "last_name": "Lee", "phone": "+4912345678", "is_admin": true});
    let (status, user) = api.call(Method::POST, &url, None, Some(good.clone())).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["is_admin"], false, "is_admin in the body is ignored");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let (status, _) = api.call(Method::POST, &url, None, Some(good.clone())).await;
    assert_eq!(status, 409);
    let mut other = good.clone();
    other["username"] = json!("ann2");
    let (status, _) = api.call(Method::POST, &url, None, Some(other)).await;
    assert_eq!(status, 409, "duplicate email");
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
        let (status, problem) = api.call(Method::POST, &url, None, Some(bad)).await;
        assert_eq!(status, 422, "{field}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(api.login("carol", "password1").await.0, 401);
    let (status, _) = api
        .call(Method::POST, &url, None, Some(json!({"username": "bob"})))
        .await;
    assert_eq!(status, 400, "missing fields");
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
    let (status, _) = api
        .call(Method::GET, &format!("{}/balance", api.payment), None, None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = api
        .call(
            Method::GET,
            &format!("{}/balance", api.payment),
            Some("not.a.token"),
            None,
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = api
        .call(
            Method::GET,
            &format!("{}/users", api.user),
            Some(&ann.token),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let body = json!({"name": "Tea", "price": 1, "quantity": 1});
    let (status, _) = api
        .call(
            Method::POST,
            &format!("{}/products", api.stock),
            Some(&ann.token),
            Some(body),
        )
        .await;
    assert_eq!(status, 403);
    let (status, users) = api
        .call(
            Method::GET,
            &format!("{}/users", api.user),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(users["items"].as_array().unwrap().len(), 3);

    api.deposit(&ann, 100).await;
    let product = api.add_product(&admin, 10, 5).await;
    api.add_courier(&admin, 5).await;
    let (status, order) = api.order(&ann, product, 1, None).await.parts();
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap();
    for url in [
        format!("{}/orders/{id}", api.order),
        format!("{}/deliveries/{id}", api.delivery),
    ] {
        assert_eq!(
            api.call(Method::GET, &url, Some(&bob.token), None).await.0,
            404,
            "bob on {url}"
        );
        assert_eq!(
            api.call(Method::GET, &url, Some(&ann.token), None).await.0,
            200,
            "ann on {url}"
        );
        assert_eq!(
            api.call(Method::GET, &url, Some(&admin.token), None)
                .await
                .0,
            200,
            "admin on {url}"
        );
    }
    let (_, bobs) = api
        .call(
            Method::GET,
            &format!("{}/orders", api.order),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(bobs["items"].as_array().unwrap().len(), 0);
    assert_eq!(api.messages(&bob).await.len(), 0);
    let (status, all) = api
        .call(
            Method::GET,
            &format!("{}/admin/orders?user_id={}", api.order, ann.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_password_needs_the_current_one() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let ann = api.register("ann").await;
    let url = format!("{}/users/me", api.user);
    let (status, _) = api
        .call(
            Method::PATCH,
            &url,
            Some(&ann.token),
            Some(json!({"password": "new-password"})),
        )
        .await;
    assert_eq!(status, 422);
    let wrong = json!({"password": "new-password", "current_password": "nope-nope"});
    assert_eq!(
        api.call(Method::PATCH, &url, Some(&ann.token), Some(wrong))
            .await
            .0,
        403
    );
    let right = json!({"password": "new-password", "current_password": "password-ann", "first_name": "Annie"});
    let (status, me) = api
        .call(Method::PATCH, &url, Some(&ann.token), Some(right))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["first_name"], "Annie");
    assert_eq!(api.login("ann", "password-ann").await.0, 401);
    assert_eq!(api.login("ann", "new-password").await.0, 200);
}
