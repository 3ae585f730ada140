//! A tour of casefile: every operation of Atlos, Aleph and Atlas, with a short account of each.
//!
//! ```sh
//! cargo run --example tour --features testkit
//! ```
//!
//! With no environment set it starts the built-in sandbox servers and runs everything against
//! them. When a platform's environment is set (`ATLOS_URL` + `ATLOS_API_TOKEN`, `ALEPH_URL` +
//! `ALEPH_API_KEY`, `ATLAS_URL` + `ATLAS_TOKEN` or `ATLAS_USERNAME` + `ATLAS_API_KEY`), that platform
//! is toured on the real server instead, reading only; `--write` lets it write too.

use std::process::ExitCode;
use std::time::Instant;

use casefile::testkit::Sandbox;
use futures::TryStreamExt;

/// Prints one line per operation and counts them.
struct Tour {
    steps: usize,
    started: Instant,
}

impl Tour {
    fn section(&self, title: &str, target: &str) {
        println!("\n== {title} ({target})");
    }

    fn step(&mut self, operation: &str, outcome: impl std::fmt::Display) {
        self.steps += 1;
        println!("  {operation:<56} {outcome}");
    }
}

/// Where a platform is toured: the sandbox (writes allowed) or a real server.
struct Target {
    label: String,
    writes: bool,
}

impl Target {
    fn choose(real: bool, url_var: &str, write: bool) -> Target {
        if real {
            let url = std::env::var(url_var).unwrap_or_default();
            Target {
                label: format!(
                    "{url}, {}",
                    if write {
                        "reading and writing"
                    } else {
                        "read-only"
                    }
                ),
                writes: write,
            }
        } else {
            Target {
                label: "sandbox".into(),
                writes: true,
            }
        }
    }
}

fn configured(vars: &[&str]) -> bool {
    vars.iter()
        .all(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("Usage: cargo run --example tour --features testkit [-- --write]\n");
        println!("Tours every operation of Atlos, Aleph and Atlas on the built-in sandbox.");
        println!("A platform whose environment is set is toured on the real server, read-only");
        println!("unless --write is given.");
        return ExitCode::SUCCESS;
    }
    let write = args.iter().any(|a| a == "--write");
    match run(write).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\ntour failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(write: bool) -> casefile::Result<()> {
    let mut tour = Tour {
        steps: 0,
        started: Instant::now(),
    };
    let sandbox = Sandbox::start().await?;
    println!(
        "casefile tour: sandbox servers on {}, {}, {}",
        sandbox.atlos_url(),
        sandbox.aleph_url(),
        sandbox.atlas_url()
    );

    let real_atlos = configured(&["ATLOS_API_TOKEN"]);
    let target = Target::choose(real_atlos, "ATLOS_URL", write);
    let atlos = if real_atlos {
        casefile::atlos::Client::from_env()?
    } else {
        sandbox.atlos()?
    };
    atlos_tour(&mut tour, &atlos, &target).await?;

    let real_aleph = configured(&["ALEPH_URL"]) || configured(&["ALEPHCLIENT_HOST"]);
    let target = Target::choose(real_aleph, "ALEPH_URL", write);
    let aleph = if real_aleph {
        casefile::aleph::Client::from_env()?
    } else {
        sandbox.aleph()?
    };
    aleph_tour(&mut tour, &aleph, &target).await?;
    if !real_aleph {
        // The same tour on a sandbox that answers as OpenAleph 5 does: one client for both.
        let openaleph = Sandbox::builder()
            .aleph_flavor(casefile::aleph::Flavor::OpenAleph)
            .start()
            .await?;
        let target = Target {
            label: "sandbox, OpenAleph flavor".into(),
            writes: true,
        };
        aleph_tour(&mut tour, &openaleph.aleph()?, &target).await?;
    }

    let real_atlas = configured(&["ATLAS_URL"])
        && (configured(&["ATLAS_TOKEN"]) || configured(&["ATLAS_USERNAME", "ATLAS_API_KEY"]));
    let target = Target::choose(real_atlas, "ATLAS_URL", write);
    let atlas = if real_atlas {
        casefile::atlas::Client::from_env()?
    } else {
        sandbox.atlas()?
    };
    atlas_tour(&mut tour, &atlas, &target).await?;

    println!(
        "\n{} operations in {:.1?}",
        tour.steps,
        tour.started.elapsed()
    );
    Ok(())
}

async fn atlos_tour(
    tour: &mut Tour,
    atlos: &casefile::atlos::Client,
    target: &Target,
) -> casefile::Result<()> {
    use casefile::Upload;
    use casefile::atlos::{IncidentStatus, Sensitivity};

    tour.section("Atlos", &target.label);
    let page = atlos.incidents().list().first_page().await?;
    tour.step(
        "incidents().list().first_page()",
        format!("{} incidents on the first page", page.items.len()),
    );
    let all: Vec<_> = atlos.incidents().list().stream().try_collect().await?;
    tour.step(
        "incidents().list().stream()",
        format!("{} incidents, cursor pages of 100", all.len()),
    );
    let to_do: Vec<_> = atlos
        .incidents()
        .list()
        .status(IncidentStatus::ToDo)
        .stream()
        .try_collect()
        .await?;
    tour.step(
        "incidents().list().status(ToDo)",
        format!("{} to do", to_do.len()),
    );
    let media = atlos.source_material().list().first_page().await?;
    tour.step(
        "source_material().list().first_page()",
        format!("{} pieces of source material", media.items.len()),
    );
    if let Some(first) = media.items.first() {
        let one = atlos.source_material().get(first.id).await?;
        tour.step(
            "source_material().get(id)",
            format!(
                "{} artifacts, {}",
                one.artifacts.len(),
                one.source_url.unwrap_or_default()
            ),
        );
    }
    let updates = atlos.updates().list().first_page().await?;
    tour.step(
        "updates().list().first_page()",
        format!("{} updates", updates.items.len()),
    );
    if !target.writes {
        return Ok(());
    }
    let incident = atlos
        .incidents()
        .create(
            "Shelling near a school (casefile tour)",
            [Sensitivity::NotSensitive],
        )
        .status(IncidentStatus::ToDo)
        .location(50.45, 30.52)
        .await?;
    tour.step(
        "incidents().create(description, sensitivity)",
        format!("incident {}", incident.slug),
    );
    atlos
        .incidents()
        .comment(&incident.slug, "Geolocated from the skyline.")
        .await?;
    tour.step("incidents().comment(slug, message)", "comment added");
    atlos
        .incidents()
        .update_attribute(&incident.slug, "status", "In Progress")
        .message("picked up")
        .await?;
    tour.step(
        "incidents().update_attribute(slug, \"status\", ..)",
        "status now In Progress",
    );
    let history = atlos
        .updates()
        .list()
        .slug(&incident.slug)
        .first_page()
        .await?;
    tour.step(
        "updates().list().slug(slug)",
        format!("{} updates on {}", history.items.len(), incident.slug),
    );
    let piece = atlos
        .source_material()
        .create(&incident.slug)
        .url("https://example.org/video/1")
        .archive(true)
        .await?;
    tour.step(
        "source_material().create(slug).url(..).archive(true)",
        format!("source material {}", piece.id),
    );
    atlos
        .source_material()
        .set_metadata(
            piece.id,
            "casefile-tour",
            serde_json::json!({"checked": true}),
        )
        .await?;
    tour.step(
        "source_material().set_metadata(id, namespace, value)",
        "metadata set",
    );
    let uploaded = atlos
        .source_material()
        .upload(piece.id, Upload::bytes("frame.txt", "frame 1"))
        .title("First frame")
        .await?;
    tour.step(
        "source_material().upload(id, file).title(..)",
        format!("{} artifact(s)", uploaded.artifacts.len()),
    );
    Ok(())
}

async fn aleph_tour(
    tour: &mut Tour,
    aleph: &casefile::aleph::Client,
    target: &Target,
) -> casefile::Result<()> {
    use casefile::Upload;
    use casefile::aleph::{
        Category, Entity, EntitySetType, Feature, IngestMeta, Judgement, NewCollection,
        NewEntitySet, NewMapping, PermissionUpdate,
    };

    tour.section("Aleph", &target.label);
    let server = aleph.server().await?;
    tour.step("server()", &server);
    let collections: Vec<_> = aleph.collections().list().stream().try_collect().await?;
    tour.step(
        "collections().list().stream()",
        format!("{} collections", collections.len()),
    );
    let Some(first) = collections.first() else {
        tour.step("(no collections to look at)", "");
        return Ok(());
    };
    let one = aleph.collections().get(&first.id).await?;
    tour.step("collections().get(id)", format!("{:?}", one.label));
    let people = aleph
        .entities()
        .search()
        .schema("Person")
        .page_size(100)
        .first_page()
        .await?;
    tour.step(
        "entities().search().schema(\"Person\").first_page()",
        format!(
            "{} of {} people",
            people.items.len(),
            people.total.map_or("many".into(), |t| t.to_string())
        ),
    );
    let found: Vec<_> = aleph
        .entities()
        .search()
        .collection(&first.id)
        .page_size(200)
        .stream()
        .concurrency(4)
        .try_collect()
        .await?;
    tour.step(
        "entities().search().collection(id).stream().concurrency(4)",
        format!("{} entities, 4 pages at a time", found.len()),
    );
    if let Some(entity) = found.first().and_then(|e| e.id.clone()) {
        let e = aleph.entities().get(&entity).await?;
        tour.step(
            "entities().get(id)",
            format!("{} {:?}", e.schema, e.first("name").unwrap_or_default()),
        );
    }
    // The owner of an ownership, if there is one: its shares are in `ownershipOwner`.
    let ownership = aleph.entities().search().schema("Ownership").first_page();
    let ownership = ownership.await?.items.into_iter().next();
    if let Some(entity) = ownership.as_ref().and_then(|o| o.first("owner")) {
        let graph = aleph.entities().expand(entity).limit(5).await?;
        tour.step(
            "entities().expand(id).limit(5)",
            format!(
                "{} connected through {} properties",
                graph.total,
                graph.results.len()
            ),
        );
    }
    if let Some(person) = people.items.first() {
        let name = person.first("name").unwrap_or_default();
        let probe = casefile::aleph::Entity::new("Person").add("name", name);
        let matches = aleph.entities().matching(probe).limit(5).await?;
        tour.step(
            "entities().matching(person).limit(5)",
            format!("{} matches for {name:?}", matches.results.len()),
        );
        // Routes only OpenAleph has (on Aleph they are refused before sending).
        if let (Some(id), true) = (&person.id, server.supports(Feature::Mentions)) {
            let mentions = aleph.entities().mentions(id).first_page().await?;
            tour.step(
                "entities().mentions(id).first_page()",
                format!("{} documents name {name:?}", mentions.items.len()),
            );
            let alike = aleph.entities().more_like_this(id).first_page().await?;
            tour.step(
                "entities().more_like_this(id).first_page()",
                format!("{} like it", alike.items.len()),
            );
        }
    }
    let streamed: Vec<_> = aleph
        .collections()
        .stream_entities(&first.id)
        .stream()
        .try_collect()
        .await?;
    tour.step(
        "collections().stream_entities(id).stream()",
        format!("{} entities as JSON lines", streamed.len()),
    );
    let status = aleph.collections().status(&first.id).await?;
    tour.step(
        "collections().status(id)",
        format!(
            "{} finished, {} running, {} pending",
            status.tasks.finished, status.tasks.running, status.tasks.pending
        ),
    );
    let permissions = aleph.permissions().get(&first.id).await?;
    tour.step(
        "permissions().get(id)",
        format!("{} roles", permissions.results.len()),
    );
    let alerts = aleph.alerts().list().first_page().await?;
    tour.step(
        "alerts().list().first_page()",
        format!("{} alerts", alerts.items.len()),
    );
    let mappings = aleph.mappings().list(&first.id).first_page().await?;
    tour.step(
        "mappings().list(id).first_page()",
        format!("{} mappings", mappings.items.len()),
    );
    if !target.writes {
        return Ok(());
    }
    let leak = aleph
        .collections()
        .create(
            NewCollection::new("Leak 2026 (casefile tour)")
                .category(Category::Leak)
                // A dataset name: OpenAleph takes no other foreign id.
                .foreign_id("casefile_tour"),
        )
        .await?;
    tour.step(
        "collections().create(NewCollection)",
        format!("collection {}", leak.id),
    );
    aleph
        .collections()
        .update(
            &leak.id,
            NewCollection::new("Leak 2026 (tour, renamed)").category(Category::Leak),
        )
        .await?;
    tour.step("collections().update(id, NewCollection)", "renamed");
    let entities: Vec<Entity> = (0..2500)
        .map(|n| {
            Entity::new(if n % 2 == 0 { "Person" } else { "Company" })
                .with_id(format!("tour-{n}"))
                .add("name", format!("Name {n}"))
        })
        .collect();
    let report = aleph
        .collections()
        .bulk(&leak.id, entities)
        .chunk_size(1000)
        .concurrency(3)
        .await?;
    tour.step(
        "collections().bulk(id, entities).chunk_size(1000)",
        format!("{} entities in {} requests", report.entities, report.chunks),
    );
    // `_bulk` stores each entity under its id signed with the collection's namespace.
    let first_id =
        casefile::aleph::namespaced_id(leak.foreign_id.as_deref().unwrap_or_default(), "tour-0")
            .unwrap_or_default();
    let first = aleph.entities().get(&first_id).await?;
    tour.step(
        "namespaced_id(foreign_id, \"tour-0\"), entities().get(id)",
        format!(
            "{} {:?}",
            first.schema,
            first.first("name").unwrap_or_default()
        ),
    );
    let company = aleph
        .entities()
        .create(
            &leak.id,
            Entity::new("Company").add("name", "Meridian Metals"),
        )
        .await?;
    let company_id = company.id.clone().unwrap_or_default();
    tour.step(
        "entities().create(collection, entity)",
        format!("entity {}", &company_id[..company_id.len().min(16)]),
    );
    aleph
        .entities()
        .update(
            &company_id,
            Entity::new("Company").add("name", "Meridian Metals Ltd"),
        )
        .await?;
    tour.step("entities().update(id, entity)", "renamed");
    aleph.entities().delete(&company_id).await?;
    tour.step("entities().delete(id)", "deleted");
    let list = aleph
        .entity_sets()
        .create(NewEntitySet::new(
            &leak.id,
            EntitySetType::List,
            "Directors",
        ))
        .await?;
    tour.step(
        "entity_sets().create(NewEntitySet)",
        format!("list {:?}", list.label.as_deref().unwrap_or_default()),
    );
    aleph
        .entity_sets()
        .add_entity(&list.id, first.clone())
        .await?;
    aleph
        .entity_sets()
        .set_item(&list.id, &first_id, Judgement::Negative)
        .await?;
    let members = aleph.entity_sets().entities(&list.id).first_page().await?;
    let items = aleph.entity_sets().items(&list.id).first_page().await?;
    tour.step(
        "entity_sets().add_entity(id, e), set_item(.., Negative)",
        format!(
            "{} members, {} judged",
            members.items.len(),
            items.items.len()
        ),
    );
    let sets = aleph.entities().entity_sets(&first_id).first_page().await?;
    tour.step(
        "entities().entity_sets(id)",
        format!("{} set(s) judge it", sets.items.len()),
    );
    aleph.entity_sets().delete(&list.id).await?;
    tour.step("entity_sets().delete(id)", "deleted");
    let folder = aleph
        .collections()
        .create_folder(&leak.id, IngestMeta::with_foreign_id("inbox"))
        .await?;
    tour.step("collections().create_folder(id, meta)", "folder \"inbox\"");
    let memo = aleph
        .collections()
        .ingest(
            &leak.id,
            Upload::bytes("memo.txt", "Transfer the shares on Monday."),
            IngestMeta::with_foreign_id("inbox/memo.txt").parent_id(&folder),
        )
        .await?;
    tour.step(
        "collections().ingest(id, file, meta)",
        "inbox/memo.txt ingested",
    );
    let document = aleph.entities().get(&memo).await?;
    if let Some(link) = document.links.get("file") {
        let path =
            std::env::temp_dir().join(format!("casefile-tour-memo-{}.txt", std::process::id()));
        let bytes = aleph
            .archive()
            .download_link(link.expose())
            .save(&path)
            .await?;
        tour.step(
            "archive().download_link(url).download_to(path)",
            format!("{bytes} bytes, the API key not sent to storage"),
        );
        let token = url::Url::parse(link.expose()).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        });
        if let Some(token) = token {
            let bytes = aleph.archive().download(&token).save(&path).await?;
            tour.step(
                "archive().download(token).download_to(path)",
                format!("{bytes} bytes"),
            );
        }
        let _ = std::fs::remove_file(&path);
    }
    let alert = aleph.alerts().create("Meridian Metals").await?;
    tour.step("alerts().create(query)", format!("alert {}", alert.id));
    aleph.alerts().get(&alert.id).await?;
    tour.step("alerts().get(id)", format!("{:?}", alert.query));
    aleph.alerts().delete(&alert.id).await?;
    tour.step("alerts().delete(id)", "deleted");
    let mapping = aleph
        .mappings()
        .create(
            &leak.id,
            NewMapping::new(
                first_id.clone(),
                serde_json::json!({"person": {"schema": "Person"}}),
            ),
        )
        .await?;
    tour.step(
        "mappings().create(id, NewMapping)",
        format!("mapping {}", mapping.id),
    );
    aleph.mappings().get(&leak.id, &mapping.id).await?;
    tour.step("mappings().get(id, mapping)", "read back");
    aleph
        .mappings()
        .update(
            &leak.id,
            &mapping.id,
            NewMapping::new(
                first_id.clone(),
                serde_json::json!({"people": {"schema": "Person"}}),
            ),
        )
        .await?;
    tour.step(
        "mappings().update(id, mapping, NewMapping)",
        "query replaced",
    );
    aleph.mappings().trigger(&leak.id, &mapping.id).await?;
    tour.step("mappings().trigger(id, mapping)", "run started");
    aleph.mappings().flush(&leak.id, &mapping.id).await?;
    tour.step(
        "mappings().flush(id, mapping)",
        "generated entities flushed",
    );
    aleph.mappings().delete(&leak.id, &mapping.id).await?;
    tour.step("mappings().delete(id, mapping)", "deleted");
    aleph
        .permissions()
        .update(&leak.id, vec![PermissionUpdate::new("4", false, true)])
        .await?;
    tour.step(
        "permissions().update(id, [write])",
        "write given, read implied",
    );
    aleph.collections().reingest(&leak.id).await?;
    tour.step("collections().reingest(id)", "queued");
    aleph.collections().reindex(&leak.id).await?;
    tour.step("collections().reindex(id)", "queued");
    // Cross-referencing: a person found above, written into the tour's collection, matched
    // against every collection (on a real server the run is queued, so matches come later).
    if let Some(name) = people.items.first().and_then(|p| p.first("name")) {
        let person = Entity::new("Person").add("name", name);
        aleph.entities().create(&leak.id, person).await?;
    }
    aleph.xref().run(&leak.id).await?;
    tour.step(
        "xref().run(id)",
        "queued; collections().status(id) follows it",
    );
    let matches = aleph.xref().matches(&leak.id).first_page().await?;
    let first_match = matches.items.first().map_or("none yet".into(), |m| {
        let candidate = m.candidate.as_ref().and_then(|c| c.first("name"));
        format!(
            "{:?}, score {:.2}",
            candidate.unwrap_or_default(),
            m.score.unwrap_or_default()
        )
    });
    tour.step("xref().matches(id).first_page()", first_match);
    match aleph.collections().touch(&leak.id).await {
        Ok(()) => tour.step("collections().touch(id)", "touched"),
        // OpenAleph has no `touch`: refused before anything is sent.
        Err(e @ casefile::Error::Unsupported { .. }) => {
            tour.step("collections().touch(id)", format!("refused: {e}"))
        }
        Err(e) => return Err(e),
    }
    aleph.collections().cancel(&leak.id).await?;
    tour.step("collections().cancel(id)", "processing cancelled");
    aleph.collections().delete(&leak.id).await?;
    tour.step("collections().delete(id)", "deleted");
    Ok(())
}

async fn atlas_tour(
    tour: &mut Tour,
    atlas: &casefile::atlas::Client,
    target: &Target,
) -> casefile::Result<()> {
    use casefile::atlas::{BboxContent, BoundingBox, NewAnnotation};

    tour.section("Atlas", &target.label);
    let first = atlas
        .attachments()
        .list()
        .page_size(20)
        .first_page()
        .await?;
    tour.step(
        "attachments().list().first_page()",
        format!(
            "{} of {} attachments",
            first.items.len(),
            first.total.unwrap_or(0)
        ),
    );
    let all: Vec<_> = atlas
        .attachments()
        .list()
        .page_size(20)
        .stream()
        .concurrency(4)
        .try_collect()
        .await?;
    tour.step(
        "attachments().list().stream().concurrency(4)",
        format!("{} attachments, 4 pages at a time", all.len()),
    );
    let Some(attachment) = all.first() else {
        tour.step("(no attachments to look at)", "");
        return Ok(());
    };
    let id = attachment
        .attachment_id
        .map(|u| u.to_string())
        .unwrap_or_default();
    let pdfs: Vec<_> = atlas
        .attachments()
        .list()
        .attachment_type("pdf")
        .stream()
        .try_collect()
        .await?;
    tour.step(
        "attachments().list().attachment_type(\"pdf\")",
        format!("{} PDFs", pdfs.len()),
    );
    let details = atlas.attachments().get(&id).await?;
    tour.step(
        "attachments().get(id)",
        format!(
            "{:?}, content {}",
            details.attachment.attachment_name,
            if details.attachment_content.is_some() {
                "present"
            } else {
                "empty"
            }
        ),
    );
    let annotations = atlas
        .attachments()
        .annotations(&id)
        .stream()
        .try_collect::<Vec<_>>()
        .await?;
    tour.step(
        "attachments().annotations(id)",
        format!("{} annotations", annotations.len()),
    );
    let export = atlas.attachments().export(&id).await?;
    tour.step(
        "attachments().export(id)",
        format!(
            "presigned URL on {}",
            export.url()?.host_str().unwrap_or("?")
        ),
    );
    let dir = std::env::temp_dir().join(format!("casefile-tour-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    // The server names the file: `save_in` keeps it a plain name inside `dir`.
    let (_, bytes) = atlas
        .attachments()
        .download(&id)
        .save_in(&dir, &attachment.attachment_name)
        .await?;
    tour.step(
        "attachments().download(id).save_in(dir, name)",
        format!("{bytes} bytes, no Atlas credentials sent to storage"),
    );
    if !target.writes {
        return Ok(());
    }
    let updated = atlas
        .attachments()
        .update(&id)
        .title("Reviewed in the casefile tour")
        .clear_citation()
        .await?;
    tour.step(
        "attachments().update(id).title(..).clear_citation()",
        format!(
            "title now {:?}",
            updated.attachment.attachment_title.unwrap_or_default()
        ),
    );
    let page = BboxContent::new(1920.0, 1080.0, 0)
        .bbox(BoundingBox::new("Peak", 640.0, 300.0, 120.0, 80.0).tag("verified", true));
    let bbox = atlas.annotations().create(&id, page).await?;
    tour.step(
        "annotations().create(id, bbox)",
        format!("annotation {}", bbox.id),
    );
    let path = atlas
        .annotations()
        .create(
            &id,
            NewAnnotation::Path(serde_json::json!({"points": [[10, 10], [200, 40]]})),
        )
        .await?;
    tour.step(
        "annotations().create(id, path)",
        format!("annotation {}", path.id),
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
