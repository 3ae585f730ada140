//! The tour, run as a user runs it: with no environment it tours every operation on the sandbox.
#![cfg(all(
    feature = "testkit",
    feature = "atlos",
    feature = "aleph",
    feature = "atlas"
))]

use crate::support::example_command;

#[test]
fn the_tour_runs_every_operation_on_the_sandbox_and_exits_0() {
    let output = example_command("tour")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the tour: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tour failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let operations = [
        // Atlos
        "incidents().list()",
        "incidents().create(",
        "incidents().comment(",
        "incidents().update_attribute(",
        "source_material().list()",
        "source_material().get(",
        "source_material().create(",
        "source_material().set_metadata(",
        "source_material().upload(",
        "updates().list()",
        "updates().list().slug(",
        // Aleph
        "collections().list()",
        "collections().get(",
        "collections().create(",
        "collections().update(",
        "collections().delete(",
        "collections().reingest(",
        "collections().reindex(",
        "collections().status(",
        "collections().cancel(",
        "collections().touch(",
        "collections().bulk(",
        "collections().stream_entities(",
        "collections().ingest(",
        "collections().create_folder(",
        "entities().get(",
        "entities().search()",
        "entities().create(",
        "entities().update(",
        "entities().delete(",
        "entities().expand(",
        "entities().matching(",
        "alerts().list()",
        "alerts().create(",
        "alerts().get(",
        "alerts().delete(",
        "mappings().list(",
        "mappings().create(",
        "mappings().get(",
        "mappings().update(",
        "mappings().delete(",
        "mappings().trigger(",
        "mappings().flush(",
        "permissions().get(",
        "permissions().update(",
        "archive().download(",
        "archive().download_link(",
        "xref().run(",
        "xref().matches(",
        "entity_sets().create(",
        "entity_sets().add_entity(",
        "entities().entity_sets(",
        // Atlas
        "attachments().list()",
        "attachments().get(",
        "attachments().update(",
        "attachments().export(",
        "attachments().download(",
        "attachments().annotations(",
        "annotations().create(id, bbox)",
        "annotations().create(id, path)",
    ];
    for operation in operations {
        assert!(
            stdout.contains(operation),
            "the tour does not show {operation}:\n{stdout}"
        );
    }
    for section in [
        "== Atlos (sandbox)",
        "== Aleph (sandbox)",
        "== Aleph (sandbox, OpenAleph flavor)",
        "== Atlas (sandbox)",
    ] {
        assert!(stdout.contains(section), "{section}");
    }
    // The Aleph tour runs on both servers, each recognised, and what OpenAleph lacks is refused
    // there (and only there) before it is sent.
    let aleph = section(&stdout, "== Aleph (sandbox)");
    let openaleph = section(&stdout, "== Aleph (sandbox, OpenAleph flavor)");
    assert!(aleph.contains("Aleph 4.1.6"), "{aleph}");
    assert!(aleph.contains("touched"), "{aleph}");
    assert!(openaleph.contains("OpenAleph 5.3.1"), "{openaleph}");
    assert!(
        openaleph.contains("refused: `touch` does not exist on OpenAleph 5.3.1"),
        "{openaleph}"
    );
    assert!(
        openaleph.contains("collections().delete(id)"),
        "{openaleph}"
    );
}

/// The lines of the tour's section that starts with `title`, up to the next section.
fn section<'a>(stdout: &'a str, title: &str) -> &'a str {
    let start = stdout
        .find(&format!("{title}\n"))
        .unwrap_or_else(|| panic!("no section {title}"));
    let rest = &stdout[start + title.len()..];
    let end = rest.find("\n== ").unwrap_or(rest.len());
    &rest[..end]
}
