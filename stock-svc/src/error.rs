//! stock-svc's errors, each with the status it answers.

shop_kit::service_errors! {
    /// What a stock-svc operation can fail with.
    pub enum Error {
        /// 404: no such product.
        NoSuchProduct("no such product") => not_found,
    }
}
