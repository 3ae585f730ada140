//! The three quickstart examples, run as built binaries against the sandbox the way a newcomer
//! runs them against a real server: configured only through `from_env`'s variables, first
//! read-only, then with `--write`, whose change is read back through the library.
#![cfg(all(
    feature = "testkit",
    feature = "atlos",
    feature = "aleph",
    feature = "atlas"
))]

use casefile::testkit::Sandbox;
use futures::TryStreamExt;

use crate::support::example_command;

/// Runs a quickstart with `env` (and nothing else of the platforms' settings) off the runtime's
/// threads, so the sandbox keeps answering; checks that it succeeded and returns its stdout.
async fn quickstart(name: &str, env: &[(&str, String)], args: &[&str]) -> String {
    let mut command = example_command(name);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{name} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn atlos_quickstart_lists_every_incident_and_comments_with_write() {
    let sandbox = Sandbox::builder().incidents(230).start().await.unwrap();
    let env = [
        ("ATLOS_URL", sandbox.atlos_url()),
        ("ATLOS_API_TOKEN", sandbox.atlos_token().to_owned()),
    ];
    let atlos = sandbox.atlos().unwrap();
    let incidents: Vec<_> = atlos
        .incidents()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(incidents.len() > 200, "three cursor pages or more");
    let first = &incidents[0];

    let read = quickstart("atlos_quickstart", &env, &[]).await;
    let lines: Vec<&str> = read.lines().collect();
    // One line an incident, in the server's order over three cursor pages.
    for (line, incident) in lines.iter().zip(&incidents) {
        assert_eq!(*line, format!("{} {}", incident.slug, incident.description));
    }
    assert!(lines.len() >= incidents.len(), "{read}");
    // Then the first incident's first piece of source material, fetched on its own.
    let extra: Vec<String> = lines[incidents.len()..]
        .iter()
        .map(|l| l.to_string())
        .collect();
    // (the sandbox gives every incident some)
    let media = &first.source_material[0];
    assert_eq!(extra.len(), 1, "{read}");
    assert!(extra[0].starts_with(&format!("source material {}: ", media.id)));
    assert!(!read.contains("commented"), "no write without --write");
    let comments = |updates: &[casefile::atlos::Update]| {
        updates
            .iter()
            .filter(|u| u.explanation.as_deref() == Some("Seen from casefile."))
            .count()
    };
    let before: Vec<_> = atlos
        .updates()
        .list()
        .slug(&first.slug)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(comments(&before), 0);

    let write = quickstart("atlos_quickstart", &env, &["--write"]).await;
    assert!(
        write.ends_with(&format!("commented on {}\n", first.slug)),
        "{write}"
    );
    let after: Vec<_> = atlos
        .updates()
        .list()
        .slug(&first.slug)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(comments(&after), 1, "{after:?}");
}

#[tokio::test]
async fn aleph_quickstart_lists_collections_and_adds_a_person_with_write() {
    let sandbox = Sandbox::start().await.unwrap();
    let env = [
        ("ALEPH_URL", sandbox.aleph_url()),
        ("ALEPH_API_KEY", sandbox.aleph_api_key().to_owned()),
    ];
    let aleph = sandbox.aleph().unwrap();
    let collections: Vec<_> = aleph
        .collections()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(!collections.is_empty());

    let read = quickstart("aleph_quickstart", &env, &[]).await;
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
        let write = quickstart("aleph_quickstart", &env, &["--write"]).await;
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
    let (username, api_key) = sandbox.atlas_digest();
    let env = [
        ("ATLAS_URL", sandbox.atlas_url()),
        ("ATLAS_USERNAME", username.to_owned()),
        ("ATLAS_API_KEY", api_key.to_owned()),
    ];
    let atlas = sandbox.atlas().unwrap();
    let attachments: Vec<_> = atlas
        .attachments()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(attachments.len(), 120);
    let first = &attachments[0];
    let id = first.attachment_id.unwrap();

    let read = quickstart("atlas_quickstart", &env, &[]).await;
    let mut expected: Vec<String> = attachments
        .iter()
        .map(|a| format!("{} {}", a.attachment_type, a.attachment_name))
        .collect();
    expected.push(format!("first: {id} {}", first.attachment_name));
    assert_eq!(read.lines().collect::<Vec<_>>(), expected);
    assert_eq!(
        atlas
            .attachments()
            .get(id)
            .await
            .unwrap()
            .attachment
            .attachment_title,
        first.attachment_title
    );

    let write = quickstart("atlas_quickstart", &env, &["--write"]).await;
    assert!(write.ends_with(&format!("retitled {id}\n")), "{write}");
    let title = atlas
        .attachments()
        .get(id)
        .await
        .unwrap()
        .attachment
        .attachment_title;
    assert_eq!(
        title,
        Some(format!("{} (seen from casefile)", first.attachment_name))
    );
}
