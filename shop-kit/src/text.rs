//! Free text as the services take it.

/// `raw` as a name of at most `max` characters: trimmed, not blank; `None` otherwise. The count
/// is of the raw text, so that surrounding spaces cannot carry a name past its limit.
pub fn name(raw: &str, max: usize) -> Option<String> {
    let trimmed = raw.trim();
    (!trimmed.is_empty() && raw.chars().count() <= max).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_not_blank_and_bounded() {
        assert_eq!(name("  Tea ", 10).as_deref(), Some("Tea"));
        assert_eq!(name("   ", 10), None);
        assert_eq!(name("", 10), None);
        assert_eq!(name(&"é".repeat(10), 10).as_deref(), Some("éééééééééé"));
        assert_eq!(name(&"é".repeat(11), 10), None);
        assert_eq!(name(" 123456789", 9), None, "spaces count");
    }
}
