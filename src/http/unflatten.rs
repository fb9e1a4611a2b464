//! w.c.s.'s `unflatten_keys`, for callers that send flat keys: `a/b/0` becomes
//! `{"a": {"b": [..]}}`, `//` is a literal `/`, digits are list indexes filled densely from 0.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnflattenError(pub String);

/// One component of a flat key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Part {
    Index(usize),
    Name(String),
}

/// True when some key would be split (contains `/`).
pub fn has_flat_keys(object: &Map<String, Value>) -> bool {
    object.keys().any(|key| key.contains('/'))
}

fn split_key(key: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '/' {
            current.push(c);
        } else if chars.peek() == Some(&'/') {
            chars.next();
            current.push('/');
        } else {
            parts.push(std::mem::take(&mut current));
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|part| match part.parse::<usize>() {
            Ok(index) if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) => Part::Index(index),
            _ => Part::Name(part),
        })
        .collect()
}

/// Unflattens the keys of `object` (values are kept as they are).
pub fn unflatten(object: Map<String, Value>) -> Result<Value, UnflattenError> {
    if object.is_empty() {
        return Ok(Value::Object(object));
    }
    let mut entries: Vec<(Vec<Part>, String, Value)> =
        object.into_iter().map(|(key, value)| (split_key(&key), key, value)).collect();
    check_no_mix(&entries)?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut root = match entries[0].0[0] {
        Part::Index(_) => Value::Array(Vec::new()),
        Part::Name(_) => Value::Object(Map::new()),
    };
    for (path, key, value) in entries {
        insert(&mut root, &path, &key, value)?;
    }
    Ok(root)
}

/// At any position, siblings must be all indexes or all names.
fn check_no_mix(entries: &[(Vec<Part>, String, Value)]) -> Result<(), UnflattenError> {
    use std::collections::HashMap;
    let mut kinds: HashMap<&[Part], bool> = HashMap::new();
    for (path, _, _) in entries {
        for depth in 0..path.len() {
            let is_index = matches!(path[depth], Part::Index(_));
            if *kinds.entry(&path[..depth]).or_insert(is_index) != is_index {
                return Err(UnflattenError("there is a mix between lists and dicts".to_owned()));
            }
        }
    }
    Ok(())
}

fn insert(root: &mut Value, path: &[Part], key: &str, value: Value) -> Result<(), UnflattenError> {
    let mut current = root;
    for (depth, part) in path.iter().enumerate() {
        let is_leaf = depth + 1 == path.len();
        let next_container = || match path.get(depth + 1) {
            Some(Part::Index(_)) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
        let prefix = || prefix_of(path, depth);
        current = match (current, part) {
            (Value::Array(list), Part::Index(index)) => {
                if *index > list.len() {
                    return Err(incomplete(path, depth, key));
                }
                if *index == list.len() {
                    list.push(if is_leaf { value.clone() } else { next_container() });
                } else if is_leaf {
                    list[*index] = value.clone();
                }
                &mut list[*index]
            }
            (Value::Object(map), Part::Name(name)) => {
                if is_leaf {
                    map.insert(name.clone(), value.clone());
                }
                map.entry(name.clone()).or_insert_with(next_container)
            }
            (other, _) => {
                return Err(UnflattenError(format!(
                    "key \"{key}\" invalid because key \"{}\" has value \"{other}\"",
                    prefix()
                )))
            }
        };
        if !is_leaf && !matches!(current, Value::Array(_) | Value::Object(_)) {
            return Err(UnflattenError(format!(
                "key \"{key}\" invalid because key \"{}\" has value \"{current}\"",
                prefix_of(path, depth + 1)
            )));
        }
    }
    Ok(())
}

fn prefix_of(path: &[Part], length: usize) -> String {
    path[..length]
        .iter()
        .map(|part| match part {
            Part::Index(index) => index.to_string(),
            Part::Name(name) => name.replace('/', "//"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn incomplete(path: &[Part], depth: usize, key: &str) -> UnflattenError {
    if depth + 1 == path.len() {
        UnflattenError(format!("incomplete array before {key}"))
    } else {
        UnflattenError(format!("incomplete array before {} in {key}", prefix_of(path, depth + 1)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(input: Value) -> Result<Value, UnflattenError> {
        unflatten(input.as_object().cloned().unwrap())
    }

    #[test]
    fn the_reference_examples_unflatten() {
        let cases = [
            (
                json!({"foo/0": 0, "foo/1": 1, "foo/2": 2, "bar": "b", "form//name": "n"}),
                json!({"foo": [0, 1, 2], "bar": "b", "form/name": "n"}),
            ),
            (json!({"a/b/0": 1, "a/b/1": 2, "a/c/0": 3, "a/c/1": 4}), json!({"a": {"b": [1, 2], "c": [3, 4]}})),
            (json!({"0/b/0": 1, "0/b/1": 2, "1/c/0": 3, "1/c/1": 4}), json!([{"b": [1, 2]}, {"c": [3, 4]}])),
            (json!({"a/b/c": {"d/e": 1}}), json!({"a": {"b": {"c": {"d/e": 1}}}})),
            (json!({"plain": 1}), json!({"plain": 1})),
            (
                json!({"list/0/name": "a", "list/0/age": 1, "list/1/name": "b"}),
                json!({"list": [{"name": "a", "age": 1}, {"name": "b"}]}),
            ),
            (
                json!({"x/10": 10, "x/0": 0, "x/1": 1, "x/2": 2, "x/3": 3, "x/4": 4, "x/5": 5, "x/6": 6, "x/7": 7, "x/8": 8, "x/9": 9}),
                json!({"x": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input.clone()).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn the_reference_error_cases_are_refused_with_their_message() {
        let cases = [
            (json!({"foo/1": 1, "foo/2": 2}), "incomplete array before foo/1"),
            (json!({"1": 1}), "incomplete array before 1"),
            (json!({"0/foo": 1, "1/bar": 2, "name": 3}), "there is a mix between lists and dicts"),
            (json!({"a/1/b": 1}), "incomplete array before a/1 in a/1/b"),
            (json!({"a": 1, "a/b": 2}), "key \"a/b\" invalid because key \"a\" has value \"1\""),
        ];
        for (input, message) in cases {
            assert_eq!(run(input.clone()).unwrap_err().0, message, "{input}");
        }
    }

    #[test]
    fn an_empty_object_is_returned_unchanged() {
        assert_eq!(run(json!({})).unwrap(), json!({}));
        assert!(!has_flat_keys(json!({"a": 1}).as_object().unwrap()));
        assert!(has_flat_keys(json!({"a/b": 1}).as_object().unwrap()));
    }
}
