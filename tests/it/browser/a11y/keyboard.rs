//! The keyboard path that axe-core cannot walk: real Tab and Enter presses (WebDriver actions)
//! reach the controls in reading order, each shows a focus ring of at least 2px at 3:1 or more
//! against what lies behind it (WCAG 2.2 2.4.7, 1.4.11), and Enter on Join enters the meeting.

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::Client;
use serde_json::{json, Value};

use super::{appointment, session, spawn_app, wrong_key, Lang};
use crate::api_events::enter;
use crate::browser::{start_driver, until, STATE};

/// The focused element, its outline, and the contrast of that outline with the colour behind
/// it (the ancestors' backgrounds, blended, over white), by WCAG's relative luminance.
const FOCUSED: &str = r#"
var e = document.activeElement;
if (!e || e === document.body || e === document.documentElement) { return null; }
function rgba(text) {
  var m = text.match(/[\d.]+/g) || [];
  return [+m[0] || 0, +m[1] || 0, +m[2] || 0, m.length > 3 ? +m[3] : 1];
}
function over(top, below) { return [0, 1, 2].map(function (i) { return top[3] * top[i] + (1 - top[3]) * below[i]; }); }
function behind(node) {
  var layers = [];
  for (; node; node = node.parentElement) {
    var colour = rgba(getComputedStyle(node).backgroundColor);
    if (colour[3] > 0) { layers.push(colour); if (colour[3] >= 1) { break; } }
  }
  return layers.reduceRight(function (below, layer) { return over(layer, below); }, [255, 255, 255]);
}
function luminance(c) {
  var l = c.map(function (v) { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
}
var style = getComputedStyle(e);
var background = behind(e.parentElement);
var ring = luminance(over(rgba(style.outlineColor), background)), back = luminance(background);
return {id: e.id || e.tagName.toLowerCase(), text: (e.textContent || "").trim(), style: style.outlineStyle,
        width: parseFloat(style.outlineWidth), colour: style.outlineColor,
        ratio: (Math.max(ring, back) + 0.05) / (Math.min(ring, back) + 0.05)};
"#;

async fn press(client: &Client, key: Key) {
    let key = char::from(key);
    let keys =
        KeyActions::new("keyboard".to_owned()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    client.perform_actions(keys).await.expect("the key is pressed");
}

/// What each of `count` Tab presses focuses (`null`: nothing on the page).
async fn tab_path(client: &Client, count: usize) -> Vec<Value> {
    let mut path = Vec::new();
    for _ in 0..count {
        press(client, Key::Tab).await;
        path.push(client.execute(FOCUSED, vec![]).await.expect("a script runs"));
    }
    path
}

/// The ids along a path.
fn ids(path: &[Value]) -> Vec<Value> {
    path.iter().map(|focused| focused["id"].clone()).collect()
}

/// Each focused element's ring, or what is wrong with it.
fn rings(page: &str, path: &[Value]) -> Vec<String> {
    path.iter()
        .filter(|focused| !focused.is_null())
        .filter(|focused| {
            focused["style"] == json!("none")
                || focused["width"].as_f64().unwrap_or(0.0) < 2.0
                || focused["ratio"].as_f64().unwrap_or(0.0) < 3.0
        })
        .map(|focused| format!("{page}: the focus ring of {focused} is not a 2px outline at 3:1"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyboard_reaches_each_control_in_order_with_a_visible_focus_and_enter_joins() {
    let test =
        "browser::a11y::keyboard::the_keyboard_reaches_each_control_in_order_with_a_visible_focus_and_enter_joins";
    let Some(driver) = start_driver(test) else { return };
    let db = TestDatabase::sqlite();
    let app = spawn_app(&db).await;
    let meeting = appointment(&app, "a11y-keyboard").await;
    let client = session(&driver, Lang::French).await;

    client.goto(meeting["agent_page_url"].as_str().unwrap()).await.unwrap();
    until(&client, "document.getElementById('copy').hidden", json!(false)).await;
    let agent = tab_path(&client, 3).await;
    client.goto(meeting["user_page_url"].as_str().unwrap()).await.unwrap();
    until(&client, STATE, json!("waiting")).await;
    let waiting = tab_path(&client, 1).await;
    enter(&app, meeting["join_agent_url"].as_str().unwrap()).await;
    until(&client, STATE, json!("running")).await;
    let running = tab_path(&client, 1).await;
    press(&client, Key::Enter).await;
    until(&client, "location.pathname", json!("/html5client/join")).await;
    client.goto(&wrong_key(meeting["user_page_url"].as_str().unwrap())).await.unwrap();
    let unknown = tab_path(&client, 1).await;
    app.simulator.set_fault(Some(Fault::Down));
    client.goto(meeting["join_user_url"].as_str().unwrap()).await.unwrap();
    app.simulator.set_fault(None);
    let down = tab_path(&client, 1).await;
    let _ = client.close().await;

    assert_eq!(ids(&agent), [json!("join"), json!("user-link"), json!("copy")], "agent page: {agent:?}");
    assert_eq!(waiting, [Value::Null], "nothing to reach while waiting (Join is hidden)");
    assert_eq!(ids(&running), [json!("join")], "user page, running: {running:?}");
    assert_eq!(unknown, [Value::Null], "no retry where retrying cannot help");
    assert_eq!(down[0]["text"], json!("Réessayer"), "error page, BBB down: {down:?}");
    let pages = [("agent page", &agent), ("user page", &running), ("error page", &down)];
    let bad: Vec<String> = pages.into_iter().flat_map(|(page, path)| rings(page, path)).collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
