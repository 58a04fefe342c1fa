//! Lenient deserializers: environment values like `0` or `true` arrive typed, lists may be one
//! comma-separated string, closed sets parse through the type's own `FromStr`.

use serde::{Deserialize, Deserializer};

struct LenientString;

impl serde::de::Visitor<'_> for LenientString {
    type Value = String;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

pub(super) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(LenientString)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<LenientItem>),
    One(LenientItem),
}

struct LenientItem(String);

impl<'de> Deserialize<'de> for LenientItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_string(d).map(LenientItem)
    }
}

pub(super) fn lenient_string_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    lenient_string(d).map(Some)
}

/// A list, or one string of comma-separated items.
pub(super) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::Many(items) => items.into_iter().map(|i| i.0.trim().to_string()).collect(),
        OneOrMany::One(item) => item.0.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    })
}

/// A name from a closed set, through the type's own `FromStr` (its error lists the valid names).
fn parse_name<T: std::str::FromStr, E: serde::de::Error>(text: &str) -> Result<T, E>
where
    T::Err: std::fmt::Display,
{
    text.trim().parse().map_err(|e: T::Err| E::custom(e.to_string()))
}

pub(super) fn name<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<T, D::Error>
where
    T::Err: std::fmt::Display,
{
    parse_name(&lenient_string(d)?)
}

pub(super) fn display<S: serde::Serializer, T: std::fmt::Display>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

pub(super) fn name_opt<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<Option<T>, D::Error>
where
    T::Err: std::fmt::Display,
{
    parse_name(&lenient_string(d)?).map(Some)
}

pub(super) fn name_list<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<Vec<T>, D::Error>
where
    T::Err: std::fmt::Display,
{
    string_list(d)?.iter().map(|s| parse_name(s)).collect()
}
