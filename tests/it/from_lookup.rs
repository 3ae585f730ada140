//! `from_env` of every platform is `from_lookup` over the process environment: the same
//! variables, read here from a map, so the rules are tested without touching the environment.
#![cfg(all(feature = "atlos", feature = "aleph", feature = "atlas"))]

use std::collections::HashMap;

use casefile::Error;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn atlos_reads_its_token_and_url_and_ignores_empty_values() {
    let atlos = casefile::atlos::Client::from_lookup(vars(&[
        ("ATLOS_API_TOKEN", " tok "),
        ("ATLOS_URL", "https://atlos.example.org"),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(
        atlos.transport().api_base().as_str(),
        "https://atlos.example.org/api/v2/"
    );
    let default = casefile::atlos::Client::from_lookup(vars(&[
        ("ATLOS_API_TOKEN", "tok"),
        ("ATLOS_URL", "  "),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(
        default.transport().api_base().as_str(),
        "https://platform.atlos.org/api/v2/"
    );
    let err = casefile::atlos::Client::from_lookup(vars(&[("ATLOS_API_TOKEN", "")])).unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("ATLOS_API_TOKEN")),
        "{err:?}"
    );
}

#[test]
fn aleph_takes_alephclients_names_as_a_fallback() {
    let aleph = casefile::aleph::Client::from_lookup(vars(&[
        ("ALEPH_URL", ""),
        ("ALEPHCLIENT_HOST", "https://aleph.example.org"),
        ("ALEPHCLIENT_API_KEY", "k"),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(
        aleph.transport().api_base().as_str(),
        "https://aleph.example.org/api/2/"
    );
    let err = casefile::aleph::Client::from_lookup(vars(&[("ALEPH_API_KEY", "k")])).unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("ALEPH_URL")),
        "{err:?}"
    );
}

#[test]
fn aleph_takes_openaleph_clients_names_last() {
    let url = |pairs: &[(&str, &str)]| {
        casefile::aleph::Client::from_lookup(vars(pairs))
            .unwrap()
            .build()
            .unwrap()
            .transport()
            .api_base()
            .to_string()
    };
    // openaleph-client's `OPENALEPH_HOST` (openaleph_client/settings.py) when nothing else is set.
    assert_eq!(
        url(&[
            ("OPENALEPH_HOST", "https://open.example.org"),
            ("OPENALEPH_API_KEY", "k")
        ]),
        "https://open.example.org/api/2/"
    );
    // casefile's own and alephclient's names come first.
    assert_eq!(
        url(&[
            ("OPENALEPH_HOST", "https://open.example.org"),
            ("ALEPHCLIENT_HOST", "https://aleph.example.org"),
        ]),
        "https://aleph.example.org/api/2/"
    );
}

#[test]
fn atlas_refuses_two_schemes_at_once() {
    let err = casefile::atlas::Client::from_lookup(vars(&[
        ("ATLAS_URL", "https://atlas.example.org"),
        ("ATLAS_TOKEN", "t"),
        ("ATLAS_USERNAME", "u"),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("not both")),
        "{err:?}"
    );
    let atlas = casefile::atlas::Client::from_lookup(vars(&[
        ("ATLAS_URL", "https://atlas.example.org"),
        ("ATLAS_USERNAME", "u"),
        ("ATLAS_API_KEY", "k"),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(
        atlas.transport().api_base().as_str(),
        "https://atlas.example.org/api/v1/"
    );
}
