//! OCI reference parsing (`oci://…`, `oci-layout:…`, tags, digests): never a panic; what parses
//! round-trips through its canonical form; the `+`↔`_` tag mapping is an inverse pair on SemVer.
#![no_main]

use appkit::oci::reference::{
    tag_for_version, validate_digest, validate_tag, version_for_tag, Location, RegistryRef,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for push in [false, true] {
        let _ = Location::parse(s, push);
    }
    if let Ok(r) = RegistryRef::parse(s) {
        assert!(!r.registry.is_empty(), "{s:?} → {r:?}");
        let _ = r.base();
        let _ = r.chart_repository("app");
        if let Some(t) = &r.tag {
            assert!(
                validate_tag(t).is_ok(),
                "{s:?}: tag {t:?} accepted by parse, not by validate_tag"
            );
        }
        if let Some(d) = &r.digest {
            assert!(validate_digest(d).is_ok(), "{s:?}: digest {d:?}");
        }
    }
    let _ = validate_tag(s);
    let _ = validate_digest(s);
    if let Ok(v) = semver::Version::parse(s) {
        let tag = tag_for_version(s);
        assert!(!tag.contains('+'));
        assert_eq!(version_for_tag(&tag), s, "{v}");
    }
});
