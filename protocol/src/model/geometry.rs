//! Geometry carried by objects and attributes: rotated boxes, points,
//! polygons and polygon intersections.

/// A rotated bounding box, centre-based, as Savant stores detections.
///
/// `angle` is in degrees; `None` means axis-aligned (or unknown), which is
/// not the same on the wire as `Some(0.0)`.
///
/// ```
/// use savant_sdk_protocol::model::BoundingBox;
/// let b = BoundingBox::ltwh(10.0, 20.0, 100.0, 50.0);
/// assert_eq!((b.xc, b.yc), (60.0, 45.0));
/// assert_eq!(b.angle, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BoundingBox {
    /// Centre x.
    pub xc: f32,
    /// Centre y.
    pub yc: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Rotation in degrees; `None` when not rotated.
    pub angle: Option<f32>,
}

impl BoundingBox {
    /// An axis-aligned box from its centre and size.
    pub fn new(xc: f32, yc: f32, width: f32, height: f32) -> Self {
        Self {
            xc,
            yc,
            width,
            height,
            angle: None,
        }
    }

    /// An axis-aligned box from its left, top, width and height.
    pub fn ltwh(left: f32, top: f32, width: f32, height: f32) -> Self {
        Self::new(left + width / 2.0, top + height / 2.0, width, height)
    }

    /// The same box rotated by `angle` degrees.
    pub fn with_angle(mut self, angle: f32) -> Self {
        self.angle = Some(angle);
        self
    }
}

/// A point in frame coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// x coordinate.
    pub x: f32,
    /// y coordinate.
    pub y: f32,
}

impl Point {
    /// A point at `(x, y)`.
    pub fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }
}

/// A polygon with optional per-edge tags.
///
/// When `tags` is `Some`, it holds one entry per edge (`None` for an untagged
/// edge).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolygonalArea {
    /// Vertices in order.
    pub points: Vec<Point>,
    /// One tag per edge, or `None` when the polygon has no tags at all.
    pub tags: Option<Vec<Option<String>>>,
}

impl PolygonalArea {
    /// An untagged polygon.
    pub fn new(points: Vec<Point>) -> Self {
        Self { points, tags: None }
    }

    /// A polygon with one tag per edge.
    pub fn with_tags(points: Vec<Point>, tags: Vec<Option<String>>) -> Self {
        Self {
            points,
            tags: Some(tags),
        }
    }
}

/// How a track crosses a polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntersectionKind {
    /// Entered the area.
    #[default]
    Enter,
    /// Stays inside.
    Inside,
    /// Left the area.
    Leave,
    /// Crossed the area.
    Cross,
    /// Stays outside.
    Outside,
}

/// One polygon edge that a track crossed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntersectionEdge {
    /// Edge index.
    pub id: u64,
    /// The edge's tag, if it has one.
    pub tag: Option<String>,
}

/// The result of intersecting a track with a polygon.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Intersection {
    /// What happened.
    pub kind: IntersectionKind,
    /// Which edges were crossed.
    pub edges: Vec<IntersectionEdge>,
}
