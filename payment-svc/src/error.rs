//! payment-svc's errors, each with the status it answers.

shop_kit::service_errors! {
    /// What a payment-svc operation can fail with.
    pub enum Error {
        /// 404: the user has no account yet.
        NoAccount("no account for this user") => not_found,
        /// 422 on `Idempotency-Key`: the key was used with another amount.
        KeyReused("was used before with a different amount") => invalid_field("Idempotency-Key"),
        /// 422 on `amount`: the balance would pass its limit.
        BalanceLimit("the balance would exceed its limit") => invalid_field("amount"),
    }
}
