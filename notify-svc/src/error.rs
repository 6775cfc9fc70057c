//! notify-svc's errors, each with the status it answers.

shop_kit::service_errors! {
    /// What a notify-svc operation can fail with.
    pub enum Error {
        /// 422 on `text`: nothing to read.
        BlankText("must not be blank") => invalid_field("text"),
        /// 409: another message was stored under this id.
        IdTaken("another message was sent under this id") => conflict,
    }
}
