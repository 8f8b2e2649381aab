import Foundation

/// One self-contained HTML page: no scripts, fonts or network requests; inline SVG charts; readable
/// on a phone and a desktop, in light and dark schemes.
struct ReportPage {
    var title: String
    var summary: [(String, String)] = []
    var sections: [(heading: String, note: String?, charts: [String])] = []

    var chartCount: Int { sections.reduce(0) { $0 + $1.charts.count } }

    static let style = """
    :root { color-scheme: light dark; --bg: #ffffff; --fg: #1d1d1f; --grid: rgba(0,0,0,0.08);
      --c0: #1f77b4; --c1: #d62728; --c2: #2ca02c; --c3: #ff7f0e; --c4: #9467bd; --c5: #8c564b; --c6: #e377c2;
      --c7: #7f7f7f; --c8: #bcbd22; --c9: #17becf; --pos: #c0392b; --neg: #2166ac; }
    @media (prefers-color-scheme: dark) { :root { --bg: #121214; --fg: #ececf0; --grid: rgba(255,255,255,0.12);
      --c0: #5aa9e6; --c1: #ff6b6b; --c2: #63d471; --c3: #ffb04c; --c4: #b79cf2; --c5: #c79b86; --c6: #f59fd6;
      --c7: #b0b0b0; --c8: #dede5a; --c9: #52d6e6; --pos: #ff7b6b; --neg: #6fa8ff; } }
    body { background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
      max-width: 56rem; margin: 0 auto; padding: 1rem; }
    h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; } dt { opacity: 0.7; } dd { margin: 0; }
    svg.chart { width: 100%; height: auto; display: block; margin: 0.75rem 0; }
    svg .title { font-size: 15px; font-weight: 600; fill: var(--fg); }
    svg .tick, svg .legend, svg .axis { font-size: 11px; fill: var(--fg); }
    svg .axis { font-size: 12px; }
    svg .grid { stroke: var(--grid); stroke-width: 1; }
    svg .axes { fill: none; stroke: var(--fg); stroke-opacity: 0.45; }
    svg .line { fill: none; stroke-width: 1.6; }
    svg .band { fill-opacity: 0.18; stroke: none; }
    svg .ellipse { fill: none; stroke-width: 1.5; }
    svg .dot { fill-opacity: 0.75; }
    svg .paper { fill: var(--bg); stroke: var(--grid); }
    svg .ink { fill: var(--fg); }
    """

    var html: String {
        func escape(_ s: String) -> String { SVGChart.escape(s) }
        var s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>\(escape(title))</title>\n"
        s += "<style>\n\(Self.style)\n</style></head><body>\n<h1>\(escape(title))</h1>\n"
        if !summary.isEmpty {
            s += "<dl>" + summary.map { "<dt>\(escape($0.0))</dt><dd>\(escape($0.1))</dd>" }.joined() + "</dl>\n"
        }
        for section in sections where !section.charts.isEmpty {
            s += "<section><h2>\(escape(section.heading))</h2>\n"
            if let note = section.note { s += "<p>\(escape(note))</p>\n" }
            s += section.charts.joined() + "</section>\n"
        }
        return s + "</body></html>\n"
    }
}
