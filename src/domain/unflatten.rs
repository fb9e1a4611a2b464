//! w.c.s.'s `unflatten_keys`, for callers that send flat keys: `a/b/0` becomes
//! `{"a": {"b": [..]}}`, `//` is a literal `/`, digits are list indexes filled densely from 0.
//!
//! The body comes from anyone on an anonymous connector, so the work is bounded: a key has at
//! most [`MAX_KEY_COMPONENTS`] components (splitting stops at the first one too many), the
//! list/dict check walks a trie (each component is hashed once), and nothing recurses. The work
//! is counted so that a fuzz target can hold it linear in the input.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

/// Most `/`-separated components in one flat key (DESIGN §7).
pub const MAX_KEY_COMPONENTS: usize = 32;

/// Why a flat object cannot be unflattened; the message follows w.c.s.'s wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnflattenError(pub String);

/// One component of a flat key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Part {
    Index(usize),
    Name(String),
}

impl Part {
    fn cost(&self) -> usize {
        match self {
            Part::Index(_) => 1,
            Part::Name(name) => name.len() + 1,
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Index(index) => write!(f, "{index}"),
            Part::Name(name) => f.write_str(name),
        }
    }
}

/// True when some key would be split or unescaped (contains `/`).
pub fn has_flat_keys(object: &Map<String, Value>) -> bool {
    object.keys().any(|key| key.contains('/'))
}

/// Unflattens the keys of `object`; values are kept as they are, even objects with flat keys.
/// The result is a list when the first key (in sorted order) starts with an index.
pub fn unflatten(object: Map<String, Value>) -> Result<Value, UnflattenError> {
    unflatten_counting(object).0
}

/// [`unflatten`], with the elementary steps it took (bytes scanned, components hashed or
/// compared): for the fuzz target that holds it linear in the size of the input.
pub fn unflatten_counting(object: Map<String, Value>) -> (Result<Value, UnflattenError>, usize) {
    let work = Cell::new(0);
    (unflatten_with(object, &work), work.get())
}

fn unflatten_with(object: Map<String, Value>, work: &Cell<usize>) -> Result<Value, UnflattenError> {
    let mut entries = Vec::with_capacity(object.len());
    for (key, value) in object {
        entries.push((split_key(&key, work)?, key, value));
    }
    check_no_mix(&entries, work)?;
    entries.sort_by(|a, b| compare_paths(&a.0, &b.0, work).then_with(|| a.1.cmp(&b.1)));
    let mut root = match entries.first().and_then(|entry| entry.0.first()) {
        Some(Part::Index(_)) => Value::Array(Vec::new()),
        _ => Value::Object(Map::new()),
    };
    for (path, key, value) in entries {
        work.set(work.get() + path.iter().map(Part::cost).sum::<usize>());
        insert(&mut root, &path, &key, value)?;
    }
    Ok(root)
}

/// Splits on every lone `/`; in a run of several, each `//` stands for one literal `/` (w.c.s.
/// splits with `(?<!/)/(?!/)` and then replaces `//` by `/`). Refuses a key with too many
/// components without scanning past the first one too many.
fn split_key(key: &str, work: &Cell<usize>) -> Result<Vec<Part>, UnflattenError> {
    let mut components = Vec::new();
    let mut current = String::new();
    let mut rest = key;
    while let Some(position) = rest.find('/') {
        current.push_str(&rest[..position]);
        let run = rest[position..].bytes().take_while(|byte| *byte == b'/').count();
        if run == 1 {
            components.push(std::mem::take(&mut current));
            if components.len() >= MAX_KEY_COMPONENTS {
                work.set(work.get() + key.len() - rest.len() + position);
                return Err(too_many_components(key));
            }
        } else {
            current.push_str(&"/".repeat(run / 2 + run % 2));
        }
        rest = &rest[position + run..];
    }
    work.set(work.get() + key.len() + 1);
    current.push_str(rest);
    components.push(current);
    Ok(components.into_iter().map(part).collect())
}

fn too_many_components(key: &str) -> UnflattenError {
    let shown: String = key.chars().take(64).collect();
    let ellipsis = if shown.len() < key.len() { "…" } else { "" };
    UnflattenError(format!("key \"{shown}{ellipsis}\" has more than {MAX_KEY_COMPONENTS} components"))
}

/// All-digit components are list indexes; one too large for memory can only be incomplete.
fn part(component: String) -> Part {
    if component.is_empty() || !component.bytes().all(|byte| byte.is_ascii_digit()) {
        return Part::Name(component);
    }
    Part::Index(component.parse().unwrap_or(usize::MAX))
}

/// Paths in w.c.s.'s order (Python compares the lists element by element), counting the
/// components compared.
fn compare_paths(a: &[Part], b: &[Part], work: &Cell<usize>) -> Ordering {
    for (left, right) in a.iter().zip(b) {
        work.set(work.get() + 1);
        match left.cmp(right) {
            Ordering::Equal => continue,
            unequal => return unequal,
        }
    }
    a.len().cmp(&b.len())
}

fn mix() -> UnflattenError {
    UnflattenError("there is a mix between lists and dicts".to_owned())
}

/// A node of the trie of key paths: whether its children are indexes, and the children.
#[derive(Default)]
struct TrieNode<'a> {
    children_are_indexes: Option<bool>,
    children: HashMap<&'a Part, usize>,
}

/// At any position, siblings must be all indexes or all names (w.c.s. fails to sort them).
fn check_no_mix(entries: &[(Vec<Part>, String, Value)], work: &Cell<usize>) -> Result<(), UnflattenError> {
    let mut nodes = vec![TrieNode::default()];
    for (path, _, _) in entries {
        let mut current = 0;
        for part in path {
            work.set(work.get() + part.cost());
            let is_index = matches!(part, Part::Index(_));
            let node = &mut nodes[current];
            if *node.children_are_indexes.get_or_insert(is_index) != is_index {
                return Err(mix());
            }
            let next = nodes.len();
            current = *nodes[current].children.entry(part).or_insert(next);
            if current == next {
                nodes.push(TrieNode::default());
            }
        }
    }
    Ok(())
}

fn joined(path: &[Part]) -> String {
    path.iter().map(Part::to_string).collect::<Vec<_>>().join("/")
}

fn insert(root: &mut Value, path: &[Part], key: &str, value: Value) -> Result<(), UnflattenError> {
    let Some((leaf, inner)) = path.split_last() else {
        return Ok(());
    };
    let mut current = root;
    for (depth, part) in inner.iter().enumerate() {
        let fresh = match path.get(depth + 1) {
            Some(Part::Index(_)) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
        current = match (current, part) {
            (Value::Array(list), Part::Index(index)) => {
                if *index > list.len() {
                    let prefix = joined(&path[..=depth]);
                    return Err(UnflattenError(format!("incomplete array before {prefix} in {key}")));
                }
                if *index == list.len() {
                    list.push(fresh);
                }
                &mut list[*index]
            }
            (Value::Object(map), Part::Name(name)) => map.entry(name.clone()).or_insert(fresh),
            _ => return Err(mix()),
        };
        if !matches!(current, Value::Array(_) | Value::Object(_)) {
            let shown = match &*current {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            let prefix = joined(&path[..=depth]);
            return Err(UnflattenError(format!(
                "key \"{key}\" invalid because key \"{prefix}\" has value \"{shown}\""
            )));
        }
    }
    match (current, leaf) {
        (Value::Array(list), Part::Index(index)) if *index == list.len() => list.push(value),
        (Value::Array(_), Part::Index(_)) => return Err(UnflattenError(format!("incomplete array before {key}"))),
        (Value::Object(map), Part::Name(name)) => {
            map.insert(name.clone(), value);
        }
        _ => return Err(mix()),
    }
    Ok(())
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
        ];
        for (input, message) in cases {
            assert_eq!(run(input.clone()).unwrap_err().to_string(), message, "{input}");
        }
    }

    #[test]
    fn double_slashes_are_literal_slashes() {
        let cases = [
            (json!({"form//name": 1}), json!({"form/name": 1})),
            (json!({"a//b/c": 1}), json!({"a/b": {"c": 1}})),
            (json!({"a/b//c": 1}), json!({"a": {"b/c": 1}})),
            (json!({"a///b": 1}), json!({"a//b": 1})),
            (json!({"//": 1}), json!({"/": 1})),
            (json!({"a/": 1}), json!({"a": {"": 1}})),
            (json!({"url": "https://x/y"}), json!({"url": "https://x/y"})),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input.clone()).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn lists_of_dicts_nest_at_any_depth() {
        let input = json!({
            "list/0/name": "a", "list/0/tags/0": "x", "list/0/tags/1": "y", "list/1/name": "b",
            "list/1/items/0/id": 7, "list/1/items/1/id": 8, "other": null,
        });
        let expected = json!({
            "list": [{"name": "a", "tags": ["x", "y"]}, {"name": "b", "items": [{"id": 7}, {"id": 8}]}],
            "other": null,
        });

        assert_eq!(run(input).unwrap(), expected);
    }

    #[test]
    fn indexes_sort_as_numbers_not_as_text() {
        let input = json!({"x/10": 10, "x/0": 0, "x/1": 1, "x/2": 2, "x/3": 3, "x/4": 4, "x/5": 5,
            "x/6": 6, "x/7": 7, "x/8": 8, "x/9": 9, "x/01": "one again"});

        assert_eq!(run(input).unwrap_err().to_string(), "incomplete array before x/1");
        let input = json!({"x/10": 10, "x/0": 0, "x/1": 1, "x/2": 2, "x/3": 3, "x/4": 4, "x/5": 5,
            "x/6": 6, "x/7": 7, "x/8": 8, "x/9": 9});
        assert_eq!(run(input).unwrap(), json!({"x": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}));
    }

    #[test]
    fn conflicting_keys_are_refused_with_their_message() {
        let cases = [
            (json!({"a/1/b": 1}), "incomplete array before a/1 in a/1/b"),
            (json!({"a/0/b": 1, "a/2/b": 1}), "incomplete array before a/2 in a/2/b"),
            (json!({"a": 1, "a/b": 2}), "key \"a/b\" invalid because key \"a\" has value \"1\""),
            (json!({"a/0": "text", "a/0/b": 2}), "key \"a/0/b\" invalid because key \"a/0\" has value \"text\""),
            (json!({"a/0": 1, "a/x": 2}), "there is a mix between lists and dicts"),
            (json!({"a/b/0": 1, "a/b/c": 2, "z": 3}), "there is a mix between lists and dicts"),
            (json!({"a/99999999999999999999999": 1}), "incomplete array before a/99999999999999999999999"),
        ];
        for (input, message) in cases {
            assert_eq!(run(input.clone()).unwrap_err().to_string(), message, "{input}");
        }
    }

    #[test]
    fn values_and_keys_without_slashes_are_kept_as_they_are() {
        assert_eq!(run(json!({})).unwrap(), json!({}));
        assert_eq!(run(json!({"plain": {"x/y": [1]}})).unwrap(), json!({"plain": {"x/y": [1]}}));
        assert_eq!(run(json!({"0": "a", "1": "b"})).unwrap(), json!(["a", "b"]));
    }

    #[test]
    fn a_key_of_more_than_32_components_is_refused() {
        let at_limit = vec!["a"; MAX_KEY_COMPONENTS].join("/");
        let expected = (0..MAX_KEY_COMPONENTS - 1).fold(json!(1), |inner, _| json!({"a": inner}));
        assert_eq!(run(json!({ at_limit.clone(): 1 })).unwrap(), json!({"a": expected}));

        let over = format!("{at_limit}/a");
        let message = run(json!({ over: 1 })).unwrap_err().to_string();
        assert!(message.ends_with("has more than 32 components"), "{message}");
        // Literal slashes (`//`) are not separators and do not count.
        let escaped = vec!["a"; 40].join("//");
        assert_eq!(run(json!({ escaped.clone(): 1 })).unwrap(), json!({ escaped.replace("//", "/"): 1 }));
    }

    #[test]
    fn the_work_grows_linearly_with_the_depth_of_the_keys() {
        // The 10,000-component key that once nested 10,000 levels deep (and overflowed the stack
        // when cloned): refused after scanning its first 32 components.
        let deep = vec!["a"; 10_000].join("/");
        let (outcome, work) = unflatten_counting(json!({ deep.clone(): 1 }).as_object().cloned().unwrap());
        assert!(outcome.is_err());
        assert!(work <= 2 * MAX_KEY_COMPONENTS, "{work} steps for a refused deep key");

        // Many keys of 32 components sharing every prefix: each step is counted once per byte.
        let mut object = Map::new();
        for index in 0..500 {
            object.insert(format!("{}/k{index}", vec!["p"; MAX_KEY_COMPONENTS - 1].join("/")), json!(index));
        }
        let size: usize = object.keys().map(|key| key.len() + 8).sum();
        let (outcome, work) = unflatten_counting(object);
        assert!(outcome.is_ok());
        assert!(work <= 16 * size, "{work} steps for {size} bytes");
    }

    #[test]
    fn flat_keys_are_detected_by_their_slash() {
        assert!(!has_flat_keys(json!({"a": {"b/c": 1}}).as_object().unwrap()));
        assert!(has_flat_keys(json!({"a/b": 1}).as_object().unwrap()));
        assert!(has_flat_keys(json!({"form//name": 1}).as_object().unwrap()));
    }
}
