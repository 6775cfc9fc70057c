//! `/users`: registration, one's own profile, and user administration.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use shop_kit::JsonBody;
use shop_kit::auth::UserAuth;
use shop_kit::client::ServiceClient;
use shop_kit::page::{Page, PageRequest};
use shop_kit::{ApiError, ApiResult, FieldErrors};
use uuid::Uuid;

use super::{Tag, User};
use crate::domain::{Email, Name, Password, Phone};
use crate::error::Error;
use crate::metrics::UserMetrics;
use crate::password::Passwords;
use crate::store::{UserChanges, UserStore, user};

mod requests;

use requests::{AdminChanges, ProfileChanges, ProfileFields, Registration};

pub struct UsersApi {
    pub store: UserStore,
    pub passwords: Passwords,
    pub payment: ServiceClient,
    pub metrics: UserMetrics,
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

impl UsersApi {
    /// Parses the profile fields common to both kinds of change, hashing a new password.
    async fn parse_changes(&self, fields: ProfileFields<'_>) -> ApiResult<UserChanges> {
        let mut errors = FieldErrors::default();
        let changes = UserChanges {
            email: errors.check_opt("email", fields.email, Email::parse),
            first_name: errors.check_opt("first_name", fields.first_name, Name::parse),
            last_name: errors.check_opt("last_name", fields.last_name, Name::parse),
            phone: errors.check_opt("phone", fields.phone, Phone::parse),
            password_hash: None,
            is_admin: None,
        };
        let new_password = errors.check_opt("password", fields.password, Password::parse);
        errors.finish()?;
        let password_hash = match new_password {
            Some(p) => Some(self.passwords.hash(p).await?),
            None => None,
        };
        Ok(UserChanges {
            password_hash,
            ..changes
        })
    }
}

/// The user found, or 404.
fn found(user: Option<user::Model>) -> ApiResult<UserResponse> {
    let user = user.ok_or(Error::NoSuchUser)?;
    Ok(UserResponse::Ok(Json(user.into())))
}

#[OpenApi(tag = "Tag::Users")]
impl UsersApi {
    /// Register
    ///
    /// Registers a user and opens the user's account in payment-svc (balance 0). Anyone may
    /// register; `is_admin` in the body is ignored.
    ///
    /// 201: registered; the user as stored.
    /// 409: the username or the email is taken.
    #[oai(path = "/users", method = "post", operation_id = "register")]
    async fn register(&self, body: JsonBody<Registration>) -> ApiResult<UserResponse> {
        let (mut new, password) = body.parse()?;
        new.password_hash = self.passwords.hash(password).await?;
        let user = match self.store.create(new).await {
            Err(Error::Taken) => {
                self.metrics
                    .registrations
                    .with_label_values(&["taken"])
                    .inc();
                return Err(Error::Taken.into());
            }
            created => created?,
        };
        self.metrics
            .registrations
            .with_label_values(&["created"])
            .inc();
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

    /// Your profile
    ///
    /// Your own user as the shop knows it: username, email, names, phone, whether you are an
    /// admin, and when you registered (never your password or its hash).
    ///
    /// 200: your profile.
    /// 404: the account was deleted.
    #[oai(path = "/users/me", method = "get", operation_id = "get_me")]
    async fn me(&self, auth: UserAuth) -> ApiResult<UserResponse> {
        found(self.store.by_id(auth.0.user_id).await?)
    }

    /// Change your profile
    ///
    /// Changes the fields given. A new `password` needs the `current_password`.
    ///
    /// 200: the profile as changed.
    /// 403: `current_password` is wrong.
    /// 404: the account was deleted.
    /// 409: the email is another user's.
    #[oai(path = "/users/me", method = "patch", operation_id = "update_me")]
    async fn update_me(
        &self,
        auth: UserAuth,
        body: JsonBody<ProfileChanges>,
    ) -> ApiResult<UserResponse> {
        if body.password.is_some() {
            let Some(current) = body.current_password.clone() else {
                return Err(ApiError::invalid_field(
                    "current_password",
                    "is required to set a new password",
                ));
            };
            let user = self.store.by_id(auth.0.user_id).await?;
            let user = user.ok_or(Error::NoSuchUser)?;
            if !self
                .passwords
                .verify(current, Some(user.password_hash))
                .await?
            {
                return Err(ApiError::forbidden("the current password is wrong"));
            }
        }
        let changes = self.parse_changes(body.fields()).await?;
        found(self.store.update(auth.0.user_id, changes).await?)
    }

    /// Delete your account
    ///
    /// Deletes your user: you can no longer log in, and your profile answers 404 from now on.
    /// A token issued before stays valid elsewhere until it expires (15 minutes).
    ///
    /// 404: the account was deleted already.
    #[oai(path = "/users/me", method = "delete", operation_id = "delete_me")]
    async fn delete_me(&self, auth: UserAuth) -> ApiResult<DeleteResponse> {
        match self.store.delete(auth.0.user_id).await? {
            true => Ok(DeleteResponse::Deleted),
            false => Err(Error::NoSuchUser.into()),
        }
    }

    /// List users (admin)
    ///
    /// All users, newest first, a page at a time (`limit`, then `cursor` from `next_cursor`).
    ///
    /// 403: only admins list users.
    #[oai(path = "/users", method = "get", operation_id = "list_users")]
    async fn list(
        &self,
        auth: UserAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<i64>>,
        #[oai(validator(max_length = 128))] cursor: Query<Option<String>>,
    ) -> ApiResult<UserPage> {
        auth.0.require_admin()?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = self.store.list(page).await?;
        let rows = rows.into_iter().map(User::from).collect();
        Ok(UserPage::Ok(Json(Page::from_rows(rows, page.limit, |u| {
            u.id
        }))))
    }

    /// Get a user (admin)
    ///
    /// One user by id, as the user sees their own profile.
    ///
    /// 200: the user.
    /// 403: only admins read other users.
    /// 404: no such user.
    #[oai(path = "/users/:id", method = "get", operation_id = "get_user")]
    async fn get(&self, auth: UserAuth, id: Path<Uuid>) -> ApiResult<UserResponse> {
        auth.0.require_admin()?;
        found(self.store.by_id(id.0).await?)
    }

    /// Change a user (admin)
    ///
    /// Changes the fields given, including the admin role (`is_admin`).
    ///
    /// 200: the user as changed.
    /// 403: only admins change other users.
    /// 404: no such user.
    /// 409: the email is another user's.
    #[oai(path = "/users/:id", method = "patch", operation_id = "update_user")]
    async fn update(
        &self,
        auth: UserAuth,
        id: Path<Uuid>,
        body: JsonBody<AdminChanges>,
    ) -> ApiResult<UserResponse> {
        auth.0.require_admin()?;
        let changes = UserChanges {
            is_admin: body.is_admin,
            ..self.parse_changes(body.fields()).await?
        };
        found(self.store.update(id.0, changes).await?)
    }
}
