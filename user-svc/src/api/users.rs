//! `/users`: registration, one's own profile, and user administration.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::JsonBody;
use shop_kit::auth::UserAuth;
use shop_kit::client::ServiceClient;
use shop_kit::page::{Page, PageRequest};
use shop_kit::{ApiError, ApiResult, FieldErrors};
use uuid::Uuid;

use super::{Tag, User};
use crate::store::{NewUser, UserChanges, UserStore, WriteError};
use crate::{domain, password};

pub struct UsersApi {
    pub store: UserStore,
    pub payment: ServiceClient,
}

/// A registration. Fields the caller may not set (such as `is_admin`) are ignored.
#[derive(Object, serde::Deserialize)]
struct Registration {
    /// 3..=32 of `[a-zA-Z0-9_.-]`.
    #[oai(validator(pattern = r"^[a-zA-Z0-9_.-]{3,32}$"))]
    username: String,
    /// 8..=128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    password: String,
    /// A valid email address, at most 254 characters.
    #[oai(validator(
        max_length = 254,
        pattern = r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]+(-[A-Za-z0-9]+)*(\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)+$"
    ))]
    email: String,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    first_name: String,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    last_name: String,
    /// `+` then 7..=15 digits.
    #[oai(validator(pattern = r"^\+[0-9]{7,15}$"))]
    phone: String,
}

/// Changes to one's own profile. A new `password` needs the `current_password`.
#[derive(Object, serde::Deserialize)]
struct ProfileChanges {
    /// A valid email address, at most 254 characters.
    #[oai(validator(
        max_length = 254,
        pattern = r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]+(-[A-Za-z0-9]+)*(\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)+$"
    ))]
    email: Option<String>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    first_name: Option<String>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    last_name: Option<String>,
    /// `+` then 7..=15 digits.
    #[oai(validator(pattern = r"^\+[0-9]{7,15}$"))]
    phone: Option<String>,
    /// A new password, 8..=128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    password: Option<String>,
    /// The current password; required to set a new one.
    #[oai(validator(max_length = 128))]
    current_password: Option<String>,
}

/// Changes an admin makes to a user.
#[derive(Object, serde::Deserialize)]
struct AdminChanges {
    /// A valid email address, at most 254 characters.
    #[oai(validator(
        max_length = 254,
        pattern = r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]+(-[A-Za-z0-9]+)*(\.[A-Za-z0-9]+(-[A-Za-z0-9]+)*)+$"
    ))]
    email: Option<String>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    first_name: Option<String>,
    /// 1..=100 characters, not only spaces.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    last_name: Option<String>,
    /// `+` then 7..=15 digits.
    #[oai(validator(pattern = r"^\+[0-9]{7,15}$"))]
    phone: Option<String>,
    /// A new password, 8..=128 characters.
    #[oai(validator(min_length = 8, max_length = 128))]
    password: Option<String>,
    /// Grants or revokes the admin role.
    is_admin: Option<bool>,
}

#[derive(ApiResponse)]
enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<User>),
    /// Registered.
    #[oai(status = 201)]
    Created(Json<User>),
}

#[derive(ApiResponse)]
enum DeleteResponse {
    /// Deleted.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
enum UserPage {
    /// A page of users, newest first.
    #[oai(status = 200)]
    Ok(Json<Page<User>>),
}

/// Parses the profile fields common to both kinds of change.
async fn parse_changes(
    errors: &mut FieldErrors,
    email: Option<&str>,
    first_name: Option<&str>,
    last_name: Option<&str>,
    phone: Option<&str>,
    password: Option<&str>,
) -> ApiResult<UserChanges> {
    let changes = UserChanges {
        email: errors.check_opt("email", email, domain::email),
        first_name: errors.check_opt("first_name", first_name, domain::name),
        last_name: errors.check_opt("last_name", last_name, domain::name),
        phone: errors.check_opt("phone", phone, domain::phone),
        password_hash: None,
        is_admin: None,
    };
    let new_password = errors.check_opt("password", password, domain::password);
    std::mem::take(errors).finish()?;
    let password_hash = match new_password {
        Some(p) => Some(
            password::hash(p)
                .await
                .map_err(|e| ApiError::unavailable(e.as_ref()))?,
        ),
        None => None,
    };
    Ok(UserChanges {
        password_hash,
        ..changes
    })
}

fn written(
    result: Result<Option<crate::store::user::Model>, WriteError>,
) -> ApiResult<UserResponse> {
    match result {
        Ok(Some(u)) => Ok(UserResponse::Ok(Json(u.into()))),
        Ok(None) => Err(ApiError::not_found("no such user")),
        Err(WriteError::Taken) => Err(ApiError::conflict("username or email already registered")),
        Err(WriteError::Db(e)) => Err(ApiError::unavailable(&e)),
    }
}

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// Registers a user and opens the user's account in payment-svc (balance 0). 409 when the
    /// username or email is taken.
    #[oai(path = "/users", method = "post", operation_id = "register")]
    async fn register(&self, body: JsonBody<Registration>) -> ApiResult<UserResponse> {
        let mut errors = FieldErrors::default();
        let username = errors.check("username", domain::username(&body.username));
        let password = errors.check("password", domain::password(&body.password));
        let email = errors.check("email", domain::email(&body.email));
        let first_name = errors.check("first_name", domain::name(&body.first_name));
        let last_name = errors.check("last_name", domain::name(&body.last_name));
        let phone = errors.check("phone", domain::phone(&body.phone));
        errors.finish()?;
        let (
            Some(username),
            Some(password),
            Some(email),
            Some(first_name),
            Some(last_name),
            Some(phone),
        ) = (username, password, email, first_name, last_name, phone)
        else {
            return Err(ApiError::invalid_field("body", "invalid"));
        };
        let password_hash = password::hash(password)
            .await
            .map_err(|e| ApiError::unavailable(e.as_ref()))?;
        let new = NewUser {
            username,
            email,
            password_hash,
            first_name,
            last_name,
            phone,
            is_admin: false,
        };
        let user = match self.store.create(new).await {
            Ok(u) => u,
            Err(WriteError::Taken) => {
                return Err(ApiError::conflict("username or email already registered"));
            }
            Err(WriteError::Db(e)) => return Err(ApiError::unavailable(&e)),
        };
        // payment-svc also opens accounts on first use, so a failure here loses nothing.
        let path = format!("/internal/accounts/{}", user.id);
        match self
            .payment
            .send::<()>(reqwest::Method::PUT, &path, None)
            .await
        {
            Ok(r) if r.status.is_success() => {}
            Ok(r) => tracing::warn!(error = %r.unexpected(), "opening the payment account failed"),
            Err(e) => tracing::warn!(error = %e, "opening the payment account failed"),
        }
        Ok(UserResponse::Created(Json(user.into())))
    }

    /// The caller's profile.
    #[oai(path = "/users/me", method = "get", operation_id = "get_me")]
    async fn me(&self, auth: UserAuth) -> ApiResult<UserResponse> {
        written(
            self.store
                .by_id(auth.0.user_id)
                .await
                .map_err(WriteError::Db),
        )
    }

    /// Changes the caller's profile; a new password needs `current_password` (403 when wrong).
    #[oai(path = "/users/me", method = "patch", operation_id = "update_me")]
    async fn update_me(
        &self,
        auth: UserAuth,
        body: JsonBody<ProfileChanges>,
    ) -> ApiResult<UserResponse> {
        let mut errors = FieldErrors::default();
        if body.password.is_some() {
            let Some(current) = body.current_password.clone() else {
                return Err(ApiError::invalid_field(
                    "current_password",
                    "is required to set a new password",
                ));
            };
            let user = self
                .store
                .by_id(auth.0.user_id)
                .await
                .map_err(|e| ApiError::unavailable(&e))?;
            let user = user.ok_or_else(|| ApiError::not_found("no such user"))?;
            if !password::verify(current, Some(user.password_hash)).await {
                return Err(ApiError::forbidden("the current password is wrong"));
            }
        }
        let b = &body.0;
        let changes = parse_changes(
            &mut errors,
            b.email.as_deref(),
            b.first_name.as_deref(),
            b.last_name.as_deref(),
            b.phone.as_deref(),
            b.password.as_deref(),
        )
        .await?;
        written(self.store.update(auth.0.user_id, changes).await)
    }

    /// Deletes the caller's account.
    #[oai(path = "/users/me", method = "delete", operation_id = "delete_me")]
    async fn delete_me(&self, auth: UserAuth) -> ApiResult<DeleteResponse> {
        match self
            .store
            .delete(auth.0.user_id)
            .await
            .map_err(|e| ApiError::unavailable(&e))?
        {
            true => Ok(DeleteResponse::Deleted),
            false => Err(ApiError::not_found("no such user")),
        }
    }

    /// All users, newest first (admins only); cursor pagination.
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list(
        &self,
        auth: UserAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<UserPage> {
        auth.0.require_admin()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = self
            .store
            .list(page)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
        let rows = rows.into_iter().map(User::from).collect();
        Ok(UserPage::Ok(Json(Page::from_rows(rows, page.limit, |u| {
            u.id
        }))))
    }

    /// One user (admins only).
    #[oai(path = "/users/:id", method = "get", operation_id = "get_user")]
    async fn get(&self, auth: UserAuth, id: Path<Uuid>) -> ApiResult<UserResponse> {
        auth.0.require_admin()?;
        written(self.store.by_id(id.0).await.map_err(WriteError::Db))
    }

    /// Changes a user, including the admin role (admins only).
    #[oai(path = "/users/:id", method = "patch", operation_id = "update_user")]
    async fn update(
        &self,
        auth: UserAuth,
        id: Path<Uuid>,
        body: JsonBody<AdminChanges>,
    ) -> ApiResult<UserResponse> {
        auth.0.require_admin()?;
        let mut errors = FieldErrors::default();
        let b = &body.0;
        let changes = parse_changes(
            &mut errors,
            b.email.as_deref(),
            b.first_name.as_deref(),
            b.last_name.as_deref(),
            b.phone.as_deref(),
            b.password.as_deref(),
        )
        .await?;
        written(
            self.store
                .update(
                    id.0,
                    UserChanges {
                        is_admin: b.is_admin,
                        ..changes
                    },
                )
                .await,
        )
    }
}
