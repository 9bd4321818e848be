//! The shape of a JSON body, checked before it is forwarded.
//!
//! A parser that builds a value first and checks it after has already paid for the attack: a
//! body nested 10,000 deep overflows a recursive descent, a million keys allocate a million
//! entries. This walks the body with serde_json's streaming deserializer and a visitor that
//! builds nothing (the way `serde::de::IgnoredAny` skips a value), counting depth, keys, string
//! and array lengths as it goes, and stops at the first limit crossed.

use std::cell::Cell;
use std::fmt;

use http::{HeaderMap, header};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The shape a JSON body may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Objects and arrays inside each other (the top level is 1).
    pub max_depth: usize,
    /// Keys in the whole body, at every level together.
    pub max_keys: usize,
    /// Bytes in one string (keys included).
    pub max_string: usize,
    /// Elements in one array.
    pub max_array: usize,
}

impl Default for JsonLimits {
    /// Generous for every request Baton's APIs take, small enough that no body is expensive.
    fn default() -> Self {
        Self {
            max_depth: 16,
            max_keys: 256,
            max_string: 4096,
            max_array: 256,
        }
    }
}

/// Which limit a body crossed; the problem's detail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("the JSON body is nested too deep")]
    TooDeep,
    #[error("the JSON body has too many keys")]
    TooManyKeys,
    #[error("a string in the JSON body is too long")]
    StringTooLong,
    #[error("an array in the JSON body is too long")]
    ArrayTooLong,
    #[error("the body is not valid JSON")]
    Malformed,
}

/// Whether a request's body is JSON by its `Content-Type`: `application/json`, or any media type
/// with the `+json` suffix (RFC 6839), compared without regard to case as media types are
/// (RFC 9110 §8.3.1). A service reads `application/problem+JSON` as JSON, so the check must too,
/// or that spelling would carry a body past it.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            let media = media.trim().to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        })
}

/// Checks `body` against `limits` without building it.
pub fn check(body: &[u8], limits: &JsonLimits) -> Result<(), ShapeError> {
    let walk = Walk {
        limits,
        keys: Cell::new(0),
        crossed: Cell::new(None),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let walked = Shape {
        walk: &walk,
        depth: 0,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    match (walked, walk.crossed.get()) {
        (_, Some(crossed)) => Err(crossed),
        (Err(_), None) => Err(ShapeError::Malformed),
        (Ok(()), None) => Ok(()),
    }
}

/// What the whole walk shares: the limits, the key count, and the first limit crossed.
struct Walk<'a> {
    limits: &'a JsonLimits,
    keys: Cell<usize>,
    crossed: Cell<Option<ShapeError>>,
}

impl Walk<'_> {
    fn refuse<E: serde::de::Error>(&self, why: ShapeError) -> E {
        self.crossed.set(Some(why));
        E::custom(why)
    }
}

/// One value at `depth`.
#[derive(Clone, Copy)]
struct Shape<'w, 'a> {
    walk: &'w Walk<'a>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Shape<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<(), E> {
        if value.len() > self.walk.limits.max_string {
            return Err(self.walk.refuse(ShapeError::StringTooLong));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.nested::<A::Error>()?;
        let mut length = 0;
        while seq.next_element_seed(inner)?.is_some() {
            length += 1;
            if length > self.walk.limits.max_array {
                return Err(self.walk.refuse(ShapeError::ArrayTooLong));
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.nested::<A::Error>()?;
        while map.next_key_seed(inner)?.is_some() {
            let keys = self.walk.keys.get() + 1;
            self.walk.keys.set(keys);
            if keys > self.walk.limits.max_keys {
                return Err(self.walk.refuse(ShapeError::TooManyKeys));
            }
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

impl<'w, 'a> Shape<'w, 'a> {
    /// The seed for what is inside this object or array, if that is not too deep.
    fn nested<E: serde::de::Error>(self) -> Result<Shape<'w, 'a>, E> {
        let depth = self.depth + 1;
        if depth > self.walk.limits.max_depth {
            return Err(self.walk.refuse(ShapeError::TooDeep));
        }
        Ok(Shape {
            walk: self.walk,
            depth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn is_json_type(content_type: &'static str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        is_json(&headers)
    }

    #[test]
    fn json_media_types_are_recognised_whatever_their_case() {
        for json in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/merge-patch+json",
            "application/problem+JSON",
            "APPLICATION/VND.BATON+Json ; charset=utf-8",
        ] {
            assert!(is_json_type(json), "{json}");
        }
        for other in [
            "text/plain",
            "application/jsonp",
            "application/x-www-form-urlencoded",
        ] {
            assert!(!is_json_type(other), "{other}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }

    const LIMITS: JsonLimits = JsonLimits {
        max_depth: 4,
        max_keys: 5,
        max_string: 8,
        max_array: 3,
    };

    fn nested(depth: usize) -> String {
        "[".repeat(depth) + &"]".repeat(depth)
    }

    #[test]
    fn an_ordinary_order_passes() {
        let body = br#"{"account_id":"a1","items":[{"sku":"MUG","quantity":1}]}"#;
        assert_eq!(check(body, &JsonLimits::default()), Ok(()));
    }

    #[test]
    fn nesting_past_the_limit_is_refused_even_10000_deep() {
        assert_eq!(check(nested(4).as_bytes(), &LIMITS), Ok(()));
        assert_eq!(
            check(nested(5).as_bytes(), &LIMITS),
            Err(ShapeError::TooDeep)
        );
        let deep = nested(10_000);
        assert_eq!(
            check(deep.as_bytes(), &JsonLimits::default()),
            Err(ShapeError::TooDeep)
        );
    }

    #[test]
    fn keys_are_counted_over_the_whole_body() {
        let body = br#"{"a":{"b":1,"c":2},"d":{"e":1,"f":2}}"#;
        assert_eq!(check(body, &LIMITS), Err(ShapeError::TooManyKeys));
    }

    #[test]
    fn long_strings_and_long_keys_are_refused() {
        assert_eq!(
            check(br#"{"a":"123456789"}"#, &LIMITS),
            Err(ShapeError::StringTooLong)
        );
        assert_eq!(
            check(br#"{"123456789":1}"#, &LIMITS),
            Err(ShapeError::StringTooLong)
        );
        // Escapes make serde_json hand over an owned string: still counted.
        assert_eq!(
            check(br#"["\n\n\n\n\n\n\n\n\n"]"#, &LIMITS),
            Err(ShapeError::StringTooLong)
        );
    }

    #[test]
    fn long_arrays_are_refused() {
        assert_eq!(check(b"[1,2,3]", &LIMITS), Ok(()));
        assert_eq!(check(b"[1,2,3,4]", &LIMITS), Err(ShapeError::ArrayTooLong));
    }

    #[test]
    fn malformed_or_trailing_content_is_refused() {
        assert_eq!(check(b"{\"a\":", &LIMITS), Err(ShapeError::Malformed));
        assert_eq!(check(b"{} {}", &LIMITS), Err(ShapeError::Malformed));
    }

    proptest! {
        /// Whatever the bytes, the check answers and never panics; and anything it lets
        /// through is JSON whose nesting stays within the limit.
        #[test]
        fn any_input_gets_an_answer_within_the_limits(body in proptest::collection::vec(
            prop_oneof![Just(b'['), Just(b']'), Just(b'{'), Just(b'}'), Just(b'"'),
                        Just(b':'), Just(b','), Just(b'1'), Just(b'a')], 0..64)) {
            if check(&body, &LIMITS).is_ok() {
                let value: serde_json::Value = serde_json::from_slice(&body)?;
                prop_assert!(depth(&value) <= LIMITS.max_depth);
            }
        }
    }

    fn depth(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}
