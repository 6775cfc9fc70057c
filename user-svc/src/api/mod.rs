//! user-svc's HTTP API.

mod auth;
pub use auth::login_examples;
mod users;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use shop_kit::auth::TokenKeys;
use shop_kit::client::ServiceClient;
use uuid::Uuid;

use crate::domain::{Email, Name, Password, Phone, Username};
use crate::error::Error;
use crate::metrics::UserMetrics;
use crate::password::Passwords;
use crate::store::{FailureStore, NewUser, UserStore, user};
use crate::throttle::{LoginGuard, LoginLimits};

/// Every operation of user-svc.
pub fn apis(
    store: UserStore,
    failures: FailureStore,
    metrics: UserMetrics,
    passwords: Passwords,
    keys: Arc<TokenKeys>,
    payment: ServiceClient,
) -> impl poem_openapi::OpenApi {
    (
        users::UsersApi {
            store: store.clone(),
            passwords: passwords.clone(),
            payment,
            metrics: metrics.clone(),
        },
        auth::AuthApi {
            guard: LoginGuard::new(failures, LoginLimits::default()),
            store,
            passwords,
            keys,
            metrics,
        },
    )
}

/// Creates the admin account with `password` unless it exists.
pub async fn ensure_admin(
    store: &UserStore,
    passwords: &Passwords,
    password: &str,
) -> anyhow::Result<()> {
    if store.by_login(crate::ADMIN_USERNAME).await?.is_some() {
        return Ok(());
    }
    let password =
        Password::parse(password).map_err(|e| anyhow::anyhow!("the admin's password {e}"))?;
    let fixed = anyhow::Error::msg;
    let new = NewUser {
        username: Username::parse(crate::ADMIN_USERNAME).map_err(fixed)?,
        email: Email::parse("admin@shop.localhost").map_err(fixed)?,
        password_hash: passwords.hash(password).await?,
        first_name: Name::parse("Shop").map_err(fixed)?,
        last_name: Name::parse("Admin").map_err(fixed)?,
        phone: Phone::parse("+10000000000").map_err(fixed)?,
        is_admin: true,
    };
    match store.create(new).await {
        Ok(_) | Err(Error::Taken) => Ok(()), // another replica created it first
        Err(e) => Err(e.into()),
    }
}

#[derive(poem_openapi::Tags)]
enum Tag {
    /// Registration and profiles.
    Users,
    /// Login.
    Auth,
}

/// A user as the API shows it (never the password or its hash).
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct User {
    /// The user's id.
    pub id: Uuid,
    /// 3 to 32 of letters, digits, `_`, `.` and `-`; unique.
    pub username: String,
    /// Lower-case; unique.
    pub email: String,
    /// 1 to 100 characters, trimmed.
    pub first_name: String,
    /// 1 to 100 characters, trimmed.
    pub last_name: String,
    /// `+` then 7 to 15 digits.
    pub phone: String,
    /// Whether the user is an admin.
    pub is_admin: bool,
    /// When the user registered.
    pub created_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for User {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x0190_a5d2_7c1e_7000_8000_0000_0000_0002),
            username: "ann".into(),
            email: "ann@example.com".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            phone: "+4915112345678".into(),
            is_admin: false,
            created_at: DateTime::<Utc>::from_timestamp(1_796_000_000, 0).unwrap_or_default(),
        }
    }
}

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        Self {
            id: u.id,
            username: u.username,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone: u.phone,
            is_admin: u.is_admin,
            created_at: u.created_at,
        }
    }
}
