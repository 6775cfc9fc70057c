//! `/balance`: a shopper's balance and deposits.

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use shop_kit::JsonBody;
use shop_kit::auth::UserAuth;
use shop_kit::contract::payment::Account;
use shop_kit::idempotency::IdempotencyKey;
use shop_kit::{ApiError, ApiResult};
use uuid::Uuid;

use super::Tag;
use crate::domain::Amount;
use crate::error::Error;
use crate::store::{DepositOutcome, PaymentStore};

pub struct BalanceApi {
    pub store: PaymentStore,
}

/// A deposit.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
struct DepositRequest {
    /// Amount in cents, 1..=10^12.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000")))]
    amount: i64,
}

impl poem_openapi::types::Example for DepositRequest {
    fn example() -> Self {
        Self { amount: 1000 }
    }
}

#[derive(ApiResponse)]
enum BalanceResponse {
    /// The balance: available funds, and funds held by orders in flight.
    #[oai(status = 200)]
    Ok(Json<Account>),
}

#[OpenApi(tag = "Tag::Balance")]
impl BalanceApi {
    /// Your balance
    ///
    /// What you can spend (`balance`) and what is held for orders in flight (`reserved`), in cents.
    ///
    /// 404: no account (a user registered before payment-svc knew of it).
    #[oai(path = "/balance", method = "get", operation_id = "get_balance")]
    async fn balance(&self, auth: UserAuth) -> ApiResult<BalanceResponse> {
        let user_id = auth.0.user_id;
        let account = self.store.account(user_id).await?;
        Ok(BalanceResponse::Ok(Json(account.unwrap_or(Account {
            user_id,
            balance: 0,
            reserved: 0,
        }))))
    }

    /// Deposit money
    ///
    /// Adds `amount` cents to your balance. Send an `Idempotency-Key` to make a retry safe: a repeat
    /// with the same amount answers the first deposit again and deposits nothing.
    ///
    /// 404: no account.
    /// 422: the amount is out of range, the balance would pass its limit, or the key was used with
    /// another amount.
    #[oai(path = "/balance/deposit", method = "post", operation_id = "deposit")]
    async fn deposit(
        &self,
        auth: UserAuth,
        body: JsonBody<DepositRequest>,
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255))] key: Header<
            Option<String>,
        >,
    ) -> ApiResult<BalanceResponse> {
        let amount =
            Amount::deposit(body.amount).map_err(|m| ApiError::invalid_field("amount", m))?;
        let key = key
            .0
            .as_deref()
            .map(IdempotencyKey::parse)
            .transpose()
            .map_err(|m| ApiError::invalid_field("Idempotency-Key", m))?;
        let outcome = self
            .store
            .deposit(
                auth.0.user_id,
                amount.cents(),
                key.as_ref().map(IdempotencyKey::as_str),
            )
            .await?;
        match outcome {
            DepositOutcome::Done(account) => Ok(BalanceResponse::Ok(Json(account))),
            DepositOutcome::KeyReused => Err(Error::KeyReused.into()),
            DepositOutcome::Overflow => Err(Error::BalanceLimit.into()),
        }
    }

    /// A user's balance (admin)
    ///
    /// Any user's balance and the money held for their orders in flight, in cents, as they see
    /// their own.
    ///
    /// 403: only admins read other users' balances.
    /// 404: no account for this user.
    #[oai(path = "/balance/:user_id", method = "get", operation_id = "get_user_balance")]
    async fn user_balance(
        &self,
        auth: UserAuth,
        user_id: Path<Uuid>,
    ) -> ApiResult<BalanceResponse> {
        auth.0.require_admin()?;
        let account = self.store.account(user_id.0).await?;
        account
            .map(|a| BalanceResponse::Ok(Json(a)))
            .ok_or_else(|| Error::NoAccount.into())
    }
}
