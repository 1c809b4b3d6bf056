//! The values YAML loader with positions (`values::yaml`): any bytes → a tree or an error, never
//! a panic, within the documented limits; every position it reports lies inside the text.
#![no_main]

use std::path::Path;

use appkit::values::node::{Node, Val};
use appkit::values::yaml;
use libfuzzer_sys::fuzz_target;

fn check_positions(n: &Node, len: usize) {
    assert!(
        n.pos.start <= n.pos.end && n.pos.end <= len,
        "{:?} outside {len}",
        n.pos
    );
    assert!(n.pos.line >= 1 && n.pos.col >= 1, "{:?}", n.pos);
    if let Some(k) = &n.key {
        assert!(k.start <= k.end && k.end <= len, "key {k:?} outside {len}");
    }
    match &n.val {
        Val::Seq(items) => items.iter().for_each(|i| check_positions(i, len)),
        Val::Map(entries) => entries.iter().for_each(|(_, v)| check_positions(v, len)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    if let Ok(node) = yaml::parse(text, 0, path) {
        check_positions(&node, text.len());
        let _ = node.to_json();
    }
    if let Ok(docs) = yaml::parse_documents(text, 0, path) {
        for d in &docs {
            check_positions(d, text.len());
        }
    }
});
