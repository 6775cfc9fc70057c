//! delivery-svc's errors, each with the status it answers.

shop_kit::service_errors! {
    /// What a delivery-svc operation can fail with.
    pub enum Error {
        /// 404: no such courier.
        NoSuchCourier("no such courier") => not_found,
        /// 404: no live booking for this order (none, released, or another user's).
        NoDelivery("no delivery for this order") => not_found,
    }
}
