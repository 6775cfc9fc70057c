//! `/internal/`: account opening, and the funds side of the order saga: `/internal/reservations`
//! is [`ReservationsApi`](shop_kit::ledger::ReservationsApi) over the funds ledger.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use shop_kit::auth::InternalAuth;
use shop_kit::contract::participant::Shortage;
use shop_kit::contract::payment::{Account, ReserveFunds};
use shop_kit::ledger::Participant;
use shop_kit::{ApiError, ApiResult};
use uuid::Uuid;

use super::Tag;
use crate::domain::{Amount, Hold};
use crate::store::{FundsLedger, PaymentStore};

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
    /// Open an account
    ///
    /// Opens a user's account with balance 0 (user-svc calls it at registration); idempotent.
    #[oai(path = "/accounts/:user_id", method = "put", operation_id = "open_account")]
    async fn open_account(
        &self,
        _auth: InternalAuth,
        user_id: Path<Uuid>,
    ) -> ApiResult<AccountResponse> {
        let account = self.store.open_account(user_id.0).await?;
        Ok(AccountResponse::Ok(Json(account)))
    }
}

impl Participant for FundsLedger {
    type Body = ReserveFunds;

    fn parse(body: ReserveFunds) -> Result<Hold, ApiError> {
        Ok(Hold {
            order_id: body.order_id,
            user_id: body.user_id,
            amount: Amount::reservation(body.amount)
                .map_err(|m| ApiError::invalid_field("amount", m))?,
        })
    }

    const SHORT: Shortage = shop_kit::contract::payment::SHORT;
}
