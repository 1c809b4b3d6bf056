//! Tag-list pagination from a registry: a `Link` header (before the first NUL byte) and a page
//! body (after it). `next_link` never panics and gives a target without `<`/`>`; resolving it on
//! the registry's origin either refuses it or gives a URL on that very origin (credentials stay
//! home); a page body parses or is an error, never a panic.
#![no_main]

use appkit::oci::client::{next_link, parse_tag_page};
use appkit::oci::transport::{join_on_origin, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let _ = parse_tag_page(body);
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    let Some(target) = next_link(header) else {
        return;
    };
    assert!(!target.contains('>'), "{header:?} → {target:?}");
    for base in [
        "https://registry.example/v2/p/demo/tags/list?n=1000",
        "http://127.0.0.1:5000/v2/p/demo/tags/list?n=1000",
    ] {
        let base = reqwest::Url::parse(base).unwrap();
        let origin = Origin::of(&base);
        if let Ok(url) = join_on_origin(&base, &target, &origin) {
            assert_eq!(Origin::of(&url), origin, "{target:?} left the registry");
        }
    }
});
