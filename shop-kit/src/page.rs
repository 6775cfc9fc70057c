//! Cursor pagination: `?limit=` (1..=100, default 20) and an opaque `?cursor=`.
//!
//! Ids are UUID v7, so they sort by creation time; a cursor is the last id of a page, encoded so
//! that clients treat it as opaque. Pages are newest first.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use uuid::Uuid;

use crate::problem::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: u64 = 20;
/// The largest page size.
pub const MAX_LIMIT: u64 = 100;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items to return.
    pub limit: u64,
    /// Return items older than this id.
    pub before: Option<Uuid>,
}

impl PageRequest {
    /// Parses `limit` and `cursor`: 422 when out of range or malformed.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => l as u64,
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "limit",
                    "must be between 1 and 100",
                ));
            }
        };
        let before = match cursor {
            None | Some("") => None,
            Some(c) => Some(
                decode_cursor(c)
                    .ok_or_else(|| ApiError::invalid_field("cursor", "is not a valid cursor"))?,
            ),
        };
        Ok(Self { limit, before })
    }
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Encodes the cursor that follows `last_id`.
pub fn encode_cursor(last_id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(last_id.as_bytes())
}

/// One page of items, newest first.
#[derive(Object, Debug, Clone)]
pub struct Page<T: ParseFromJSON + ToJSON + Type + Send + Sync> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl<T: ParseFromJSON + ToJSON + Type + Send + Sync> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(id_of(r)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

/// The size of a page of a listing that is read through, not browsed (the participants'
/// reservations, the books audit): 500, of at most 1,000.
pub fn long_page_size() -> u32 {
    500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_outside_range_is_rejected() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert_eq!(
            PageRequest::parse(None, None).map(|p| p.limit).ok(),
            Some(20)
        );
        assert_eq!(
            PageRequest::parse(Some(100), None).map(|p| p.limit).ok(),
            Some(100)
        );
    }

    #[test]
    fn cursor_round_trips_and_garbage_is_rejected() {
        let id = Uuid::now_v7();
        let page = PageRequest::parse(None, Some(&encode_cursor(id))).ok();
        assert_eq!(page.and_then(|p| p.before), Some(id));
        assert!(PageRequest::parse(None, Some("not a cursor!")).is_err());
    }
}
