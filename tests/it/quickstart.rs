//! The three quickstart examples, run as built binaries against the sandbox the way a newcomer
//! runs them against a real server: configured only through `from_env`'s variables, first
//! read-only, then with `--write`, whose change is read back through the library.
#![cfg(all(
    feature = "testkit",
    feature = "atlos",
    feature = "aleph",
    feature = "atlas"
))]

use casefile::Result;
use casefile::testkit::Sandbox;
use futures::{Stream, TryStreamExt};

/// Runs a quickstart against the sandbox with only its platform's variables set (as
/// `examples.rs` runs the other examples), checks that it succeeded, and returns its stdout.
async fn quickstart(sandbox: &Sandbox, name: &str, args: &[&str]) -> String {
    String::from_utf8(crate::examples::run(sandbox, name, args).await.stdout).unwrap()
}

/// Every item of a listing, read through the library.
async fn all<T>(listing: impl Stream<Item = Result<T>>) -> Vec<T> {
    listing.try_collect().await.unwrap()
}

#[tokio::test]
async fn atlos_quickstart_lists_every_incident_and_comments_with_write() {
    let sandbox = Sandbox::builder().incidents(230).start().await.unwrap();
    let atlos = sandbox.atlos().unwrap();
    let incidents = all(atlos.incidents().list().stream()).await;
    assert!(incidents.len() > 200, "three cursor pages or more");
    let first = &incidents[0];

    let read = quickstart(&sandbox, "atlos_quickstart", &[]).await;
    let lines: Vec<&str> = read.lines().collect();
    // One line an incident, in the server's order over three cursor pages.
    for (line, incident) in lines.iter().zip(&incidents) {
        assert_eq!(*line, format!("{} {}", incident.slug, incident.description));
    }
    // Then the first incident's first piece of source material (the sandbox gives every
    // incident some), fetched on its own.
    assert_eq!(lines.len(), incidents.len() + 1, "{read}");
    let media = &first.source_material[0];
    assert!(lines[incidents.len()].starts_with(&format!("source material {}: ", media.id)));
    assert!(!read.contains("commented"), "no write without --write");
    let comments = |updates: &[casefile::atlos::Update]| {
        updates
            .iter()
            .filter(|u| u.explanation.as_deref() == Some("Seen from casefile."))
            .count()
    };
    let before = all(atlos.updates().list().slug(&first.slug).stream()).await;
    assert_eq!(comments(&before), 0);

    let write = quickstart(&sandbox, "atlos_quickstart", &["--write"]).await;
    assert!(
        write.ends_with(&format!("commented on {}\n", first.slug)),
        "{write}"
    );
    let after = all(atlos.updates().list().slug(&first.slug).stream()).await;
    assert_eq!(comments(&after), 1, "{after:?}");
}

#[tokio::test]
async fn aleph_quickstart_lists_collections_and_adds_a_person_with_write() {
    let sandbox = Sandbox::start().await.unwrap();
    let aleph = sandbox.aleph().unwrap();
    let collections = all(aleph.collections().list().stream()).await;
    assert!(!collections.is_empty());

    let read = quickstart(&sandbox, "aleph_quickstart", &[]).await;
    let mut expected: Vec<String> = collections
        .iter()
        .map(|c| format!("{} {}", c.id, c.label))
        .collect();
    expected.push(format!(
        "first: {} {}",
        collections[0].id, collections[0].label
    ));
    assert_eq!(read.lines().collect::<Vec<_>>(), expected);

    // Twice: the second run finds the collection by its foreign id instead of making another.
    let mut made_in = Vec::new();
    for _ in 0..2 {
        let write = quickstart(&sandbox, "aleph_quickstart", &["--write"]).await;
        let last = write.lines().last().unwrap();
        let (person, collection) = last
            .strip_prefix("created Some(\"")
            .and_then(|rest| rest.split_once("\") in "))
            .unwrap_or_else(|| panic!("{write}"));
        let entity = aleph.entities().get(person).await.unwrap();
        assert_eq!(entity.schema, "Person");
        assert_eq!(entity.first("name"), Some("Jane Doe"));
        made_in.push(collection.to_owned());
    }
    assert_eq!(made_in[0], made_in[1]);
    let made = aleph.collections().get(&made_in[0]).await.unwrap();
    assert_eq!(made.foreign_id.as_deref(), Some("casefile-quickstart"));
}

#[tokio::test]
async fn atlas_quickstart_lists_attachments_and_retitles_one_with_write() {
    let sandbox = Sandbox::builder().attachments(120).start().await.unwrap();
    let atlas = sandbox.atlas().unwrap();
    let attachments = all(atlas.attachments().list().stream()).await;
    assert_eq!(attachments.len(), 120);
    let first = &attachments[0];
    let id = first.attachment_id.unwrap();

    let read = quickstart(&sandbox, "atlas_quickstart", &[]).await;
    let mut expected: Vec<String> = attachments
        .iter()
        .map(|a| format!("{} {}", a.attachment_type, a.attachment_name))
        .collect();
    expected.push(format!("first: {id} {}", first.attachment_name));
    assert_eq!(read.lines().collect::<Vec<_>>(), expected);
    let details = atlas.attachments().get(id).await.unwrap();
    assert_eq!(details.attachment.attachment_title, first.attachment_title);

    let write = quickstart(&sandbox, "atlas_quickstart", &["--write"]).await;
    assert!(write.ends_with(&format!("retitled {id}\n")), "{write}");
    let details = atlas.attachments().get(id).await.unwrap();
    let title = format!("{} (seen from casefile)", first.attachment_name);
    assert_eq!(details.attachment.attachment_title, Some(title));
}
