//! Annotations: regions of interest marked on an attachment.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::check_id;
use crate::error::{Error, Result};
use crate::transport::Transport;

string_enum! {
    /// The kind of an annotation.
    pub enum AnnotationType {
        /// Bounding boxes on a page or image.
        Bbox = "bbox",
        /// A path (free-form shape) on a page or image.
        Path = "path",
    }
}

/// An annotation as the server returns it. `GET /attachments/{id}/annotations` names the id
/// `uuid` and `POST /annotations` names it `annotation_id`; both are read into [`id`](Self::id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawAnnotation", into = "RawAnnotation")]
#[non_exhaustive]
pub struct Annotation {
    /// The annotation's id.
    pub id: String,
    /// The attachment it marks.
    pub attachment_id: Option<Uuid>,
    /// Bounding boxes, a path, or a kind this version does not know.
    pub annotation_type: AnnotationType,
    /// The content: typed for bounding boxes, as sent for anything else.
    pub annotation_content: AnnotationContent,
}

/// The wire form of [`Annotation`].
#[derive(Serialize, Deserialize)]
struct RawAnnotation {
    #[serde(rename = "uuid", alias = "annotation_id")]
    id: String,
    #[serde(default)]
    attachment_id: Option<Uuid>,
    annotation_type: AnnotationType,
    #[serde(default)]
    annotation_content: serde_json::Value,
}

impl From<RawAnnotation> for Annotation {
    fn from(raw: RawAnnotation) -> Self {
        let annotation_content = match raw.annotation_type {
            // Content that does not fit the published bbox shape is kept as sent, not refused.
            AnnotationType::Bbox => {
                match serde_json::from_value::<BboxContent>(raw.annotation_content.clone()) {
                    Ok(bbox) => AnnotationContent::Bbox(bbox),
                    Err(_) => AnnotationContent::Other(raw.annotation_content),
                }
            }
            _ => AnnotationContent::Other(raw.annotation_content),
        };
        Annotation {
            id: raw.id,
            attachment_id: raw.attachment_id,
            annotation_type: raw.annotation_type,
            annotation_content,
        }
    }
}

impl From<Annotation> for RawAnnotation {
    fn from(a: Annotation) -> Self {
        RawAnnotation {
            id: a.id,
            attachment_id: a.attachment_id,
            annotation_type: a.annotation_type,
            annotation_content: match a.annotation_content {
                AnnotationContent::Bbox(bbox) => {
                    serde_json::to_value(bbox).unwrap_or(serde_json::Value::Null)
                }
                AnnotationContent::Other(value) => value,
            },
        }
    }
}

/// What an annotation marks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AnnotationContent {
    /// Bounding boxes on one page.
    Bbox(BboxContent),
    /// A path annotation (whose shape Atlas does not publish), or content of a kind this version
    /// does not know, as the server sent it.
    Other(serde_json::Value),
}

impl AnnotationContent {
    /// The bounding boxes, if this is a bounding-box annotation.
    pub fn as_bbox(&self) -> Option<&BboxContent> {
        match self {
            AnnotationContent::Bbox(bbox) => Some(bbox),
            AnnotationContent::Other(_) => None,
        }
    }
}

/// Bounding boxes on one page (or image) of an attachment.
///
/// ```
/// use casefile::atlas::{BboxContent, BoundingBox};
///
/// let page = BboxContent::new(1920.0, 1080.0, 0)
///     .bbox(BoundingBox::new("Peak", 1497.6, 548.5, 111.8, 115.6).tag("verified", true));
/// assert!(page.check().is_ok());
/// assert!(BboxContent::new(100.0, 100.0, 0)
///     .bbox(BoundingBox::new("off the page", 90.0, 0.0, 20.0, 10.0))
///     .check()
///     .is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BboxContent {
    /// Width of the page or image.
    pub page_width: f64,
    /// Height of the page or image.
    pub page_height: f64,
    /// The page, from 0.
    pub page_number: u32,
    /// The boxes.
    #[serde(default)]
    pub content: Vec<BoundingBox>,
}

impl BboxContent {
    /// A page of the given size with no boxes yet.
    pub fn new(page_width: f64, page_height: f64, page_number: u32) -> Self {
        BboxContent {
            page_width,
            page_height,
            page_number,
            content: Vec::new(),
        }
    }

    /// Adds a box.
    pub fn bbox(mut self, bbox: BoundingBox) -> Self {
        self.content.push(bbox);
        self
    }

    /// Checks what the server would refuse or misplace: a page size that is not positive, no
    /// boxes, an empty label, a box that is not positive in size or does not lie inside the
    /// page, a tag that is neither a string nor a boolean.
    pub fn check(&self) -> Result<()> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(self.page_width) || !positive(self.page_height) {
            return Err(Error::invalid(
                "page size",
                format!(
                    "must be positive, not {} x {}",
                    self.page_width, self.page_height
                ),
            ));
        }
        if self.content.is_empty() {
            return Err(Error::invalid("content", "a bbox annotation needs a box"));
        }
        for (i, b) in self.content.iter().enumerate() {
            let name = format!("box {i} ({:?})", b.label);
            if b.label.trim().is_empty() {
                return Err(Error::invalid(
                    "label",
                    format!("box {i}: must not be empty"),
                ));
            }
            if !positive(b.width) || !positive(b.height) {
                return Err(Error::invalid(
                    "bbox",
                    format!(
                        "{name}: size must be positive, not {} x {}",
                        b.width, b.height
                    ),
                ));
            }
            let inside = b.x.is_finite()
                && b.y.is_finite()
                && b.x >= 0.0
                && b.y >= 0.0
                && b.x + b.width <= self.page_width
                && b.y + b.height <= self.page_height;
            if !inside {
                return Err(Error::invalid(
                    "bbox",
                    format!(
                        "{name}: ({}, {}) + {} x {} is not inside the {} x {} page",
                        b.x, b.y, b.width, b.height, self.page_width, self.page_height
                    ),
                ));
            }
            for (key, value) in &b.tags {
                if key.is_empty() {
                    return Err(Error::invalid("tags", format!("{name}: empty tag name")));
                }
                if let TagValue::Other(v) = value {
                    return Err(Error::invalid(
                        "tags",
                        format!("{name}: tag {key:?} is {v}, not a string or a boolean"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One box: a label, tags, and its left/top edge and size in page units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Key-value tags (string or boolean values).
    #[serde(default)]
    pub tags: BTreeMap<String, TagValue>,
    /// The label.
    pub label: String,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl BoundingBox {
    /// A box with no tags.
    pub fn new(label: impl Into<String>, x: f64, y: f64, width: f64, height: f64) -> Self {
        BoundingBox {
            tags: BTreeMap::new(),
            label: label.into(),
            x,
            y,
            width,
            height,
        }
    }

    /// Adds (or replaces) a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<TagValue>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// The value of a box's tag: a string or a boolean (anything else the server sends is kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TagValue {
    /// A boolean tag.
    Bool(bool),
    /// A string tag.
    Text(String),
    /// A value of another JSON type, as the server sent it (refused when sending).
    Other(serde_json::Value),
}

impl From<bool> for TagValue {
    fn from(v: bool) -> Self {
        TagValue::Bool(v)
    }
}

impl From<&str> for TagValue {
    fn from(v: &str) -> Self {
        TagValue::Text(v.to_owned())
    }
}

impl From<String> for TagValue {
    fn from(v: String) -> Self {
        TagValue::Text(v)
    }
}

/// The content of a new annotation: bounding boxes, or a path (kept open, as Atlas does not
/// publish its shape).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NewAnnotation {
    /// Bounding boxes on one page; checked before sending.
    Bbox(BboxContent),
    /// A path annotation's content, a JSON object sent as it is.
    Path(serde_json::Value),
}

impl From<BboxContent> for NewAnnotation {
    fn from(bbox: BboxContent) -> Self {
        NewAnnotation::Bbox(bbox)
    }
}

/// The annotations of an Atlas instance, from [`Client::annotations`](super::Client::annotations).
/// Listing them is [`Attachments::annotations`](super::Attachments::annotations).
#[derive(Debug, Clone)]
pub struct Annotations {
    transport: Transport,
}

impl Annotations {
    pub(crate) fn new(transport: Transport) -> Self {
        Annotations { transport }
    }

    /// Creates an annotation on an attachment (`POST /annotations`).
    ///
    /// ```no_run
    /// # async fn run(atlas: casefile::atlas::Client) -> casefile::Result<()> {
    /// use casefile::atlas::{BboxContent, BoundingBox, NewAnnotation};
    /// let id = "e52a9631-e38f-4e77-8c08-38001a80ad36";
    /// let page = BboxContent::new(612.0, 792.0, 0)
    ///     .bbox(BoundingBox::new("Figure 1", 72.0, 100.0, 200.0, 150.0).tag("kind", "figure"));
    /// let boxes = atlas.annotations().create(id, page).await?;
    ///
    /// let path = serde_json::json!({"page_width": 612, "page_height": 792, "page_number": 0,
    ///     "content": [{"label": "outline", "points": [[10, 10], [40, 60]]}]});
    /// let outline = atlas.annotations().create(id, NewAnnotation::Path(path)).await?;
    /// # Ok(()) }
    /// ```
    pub fn create(
        &self,
        attachment_id: impl fmt::Display,
        annotation: impl Into<NewAnnotation>,
    ) -> CreateAnnotation {
        CreateAnnotation {
            transport: self.transport.clone(),
            attachment_id: attachment_id.to_string(),
            annotation: annotation.into(),
        }
    }
}

/// `POST /annotations`, from [`Annotations::create`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct CreateAnnotation {
    transport: Transport,
    attachment_id: String,
    annotation: NewAnnotation,
}

#[derive(Serialize)]
struct CreateBody<'a, C: Serialize> {
    attachment_id: &'a str,
    annotation_type: AnnotationType,
    annotation_content: &'a C,
}

impl CreateAnnotation {
    /// Checks the content, then sends the request.
    pub async fn send(self) -> Result<Annotation> {
        check_id("attachment_id", &self.attachment_id)?;
        let request = self.transport.request(Method::POST, &["annotations"]);
        let request = match &self.annotation {
            NewAnnotation::Bbox(bbox) => {
                bbox.check()?;
                request.json(&CreateBody {
                    attachment_id: &self.attachment_id,
                    annotation_type: AnnotationType::Bbox,
                    annotation_content: bbox,
                })
            }
            NewAnnotation::Path(content) => {
                if !content.is_object() {
                    return Err(Error::invalid(
                        "annotation_content",
                        "a path annotation's content must be a JSON object",
                    ));
                }
                request.json(&CreateBody {
                    attachment_id: &self.attachment_id,
                    annotation_type: AnnotationType::Path,
                    annotation_content: content,
                })
            }
        };
        request.send().await
    }
}

send_on_await!(CreateAnnotation => Annotation);
