//! `/internal/`: fund reservations for the order saga, and account opening.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use shop_kit::JsonBody;
use shop_kit::auth::InternalAuth;
use shop_kit::contract::participant::{self, Reply};
use shop_kit::contract::payment::{Account, FundsReservation, ReserveFunds};
use shop_kit::{ApiError, ApiResult};
use uuid::Uuid;

use super::Tag;
use crate::domain::{Amount, Hold};
use crate::error::Error;
use crate::store::PaymentStore;

pub struct InternalApi {
    pub store: PaymentStore,
}

#[derive(ApiResponse)]
enum AccountResponse {
    /// The account (opened now or before).
    #[oai(status = 200)]
    Ok(Json<Account>),
}

#[OpenApi(prefix_path = "/internal", tag = "Tag::Internal")]
impl InternalApi {
    /// Opens a user's account with balance 0; idempotent.
    #[oai(
        path = "/accounts/:user_id",
        method = "put",
        operation_id = "open_account"
    )]
    async fn open_account(
        &self,
        _auth: InternalAuth,
        user_id: Path<Uuid>,
    ) -> ApiResult<AccountResponse> {
        let account = self.store.open_account(user_id.0).await?;
        Ok(AccountResponse::Ok(Json(account)))
    }

    /// Holds funds for an order: `balance` drops, `reserved` rises. 402 when the balance is
    /// short; 409 after a release of the order or with different values.
    #[oai(
        path = "/reservations",
        method = "post",
        operation_id = "reserve_funds"
    )]
    async fn reserve(
        &self,
        _auth: InternalAuth,
        body: JsonBody<ReserveFunds>,
    ) -> ApiResult<Reply<FundsReservation>> {
        let hold = Hold {
            order_id: body.order_id,
            user_id: body.user_id,
            amount: Amount::reservation(body.amount)
                .map_err(|m| ApiError::invalid_field("amount", m))?,
        };
        let outcome = self.store.reserve(&hold).await?;
        participant::reserved(outcome, || Error::InsufficientFunds.into())
    }

    /// Captures the funds held for an order.
    #[oai(
        path = "/reservations/:order_id/confirm",
        method = "post",
        operation_id = "confirm_funds"
    )]
    async fn confirm(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ApiResult<Reply<FundsReservation>> {
        participant::confirmed(self.store.confirm(order_id.0).await?)
    }

    /// Releases the funds held for an order; with nothing held, refuses a later reservation.
    #[oai(
        path = "/reservations/:order_id",
        method = "delete",
        operation_id = "release_funds"
    )]
    async fn release(
        &self,
        _auth: InternalAuth,
        order_id: Path<Uuid>,
    ) -> ApiResult<Reply<FundsReservation>> {
        participant::released(self.store.release(order_id.0).await?)
    }
}
