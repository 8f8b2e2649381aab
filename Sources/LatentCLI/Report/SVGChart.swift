import Foundation

/// Charts as inline SVG: axes with rounded ticks, labels and legends, sized by a `viewBox` so they
/// scale to any screen. Colours come from CSS custom properties (`--c0` … `--c9`, `--fg`, `--grid`)
/// that the report page sets for light and dark schemes.
enum SVGChart {
    static let width = 640.0, height = 360.0
    static let margin = (left: 78.0, right: 16.0, top: 36.0, bottom: 48.0)

    /// A linear scale from a data range onto a pixel range.
    struct Scale {
        let lower: Double, upper: Double, from: Double, to: Double
        init(_ values: [Double], from: Double, to: Double, padding: Double = 0.04) {
            let finite = values.filter(\.isFinite)
            var lo = finite.min() ?? 0, hi = finite.max() ?? 1
            if hi - lo < 1e-12 * max(1, abs(hi)) { lo -= 0.5; hi += 0.5 }
            let pad = (hi - lo) * padding
            lower = lo - pad; upper = hi + pad
            self.from = from; self.to = to
        }
        func callAsFunction(_ v: Double) -> Double { from + (v - lower) / (upper - lower) * (to - from) }

        /// The distance between ticks: 1, 2 or 5 × 10ⁿ, about a fifth of the range (at least 1 when
        /// `integers`).
        var step: Double {
            let raw = (upper - lower) / 5
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
            return integers ? max(1, step) : step
        }
        var integers = false

        /// About five round values inside the range.
        var ticks: [Double] {
            let step = self.step
            var t = (lower / step).rounded(.up) * step, out: [Double] = []
            while t <= upper + 1e-9 * step { out.append(abs(t) < 1e-12 * step ? 0 : t); t += step }
            return out
        }

        /// A tick's text with as many decimals as the step needs.
        func label(_ v: Double) -> String {
            let a = abs(v)
            if a != 0 && (a >= 1e6 || a < 1e-4) { return String(format: "%.3g", v) }
            let decimals = max(0, Int(-floor(log10(step))))
            return decimals > 5 ? String(format: "%.3g", v) : String(format: "%.\(decimals)f", v)
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func label(_ v: Double) -> String {
        let a = abs(v)
        if a != 0 && (a >= 1e5 || a < 1e-3) { return String(format: "%.2g", v) }
        return String(format: "%g", (v * 1e6).rounded() / 1e6)
    }

    static func f(_ v: Double) -> String { String(format: "%.2f", v) }

    static func legendWidth(_ legend: [(String, Int)]) -> Double { legend.reduce(0) { $0 + 22 + 6.5 * Double($1.0.count) } }

    /// The top of the plot area: below the title, and below a legend row when the legend does not
    /// fit beside the title.
    static func plotTop(title: String, legend: [(String, Int)]) -> Double {
        legendWidth(legend) + 8.5 * Double(title.count) + margin.left > width - 24 ? margin.top + 20 : margin.top
    }

    /// The frame: title, axes, ticks, grid and axis labels around `body`, with a legend.
    static func frame(title: String, xLabel: String, yLabel: String, x: Scale, y: Scale, legend: [(String, Int)], body: String) -> String {
        let top = plotTop(title: title, legend: legend)
        var s = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        s += "<text class=\"title\" x=\"\(f(margin.left))\" y=\"22\">\(escape(title))</text>\n"
        for t in x.ticks {
            s += "<line class=\"grid\" x1=\"\(f(x(t)))\" x2=\"\(f(x(t)))\" y1=\"\(f(top))\" y2=\"\(f(height - margin.bottom))\"/>"
            s += "<text class=\"tick\" x=\"\(f(x(t)))\" y=\"\(f(height - margin.bottom + 16))\" text-anchor=\"middle\">\(x.label(t))</text>\n"
        }
        for t in y.ticks {
            s += "<line class=\"grid\" x1=\"\(f(margin.left))\" x2=\"\(f(width - margin.right))\" y1=\"\(f(y(t)))\" y2=\"\(f(y(t)))\"/>"
            s += "<text class=\"tick\" x=\"\(f(margin.left - 6))\" y=\"\(f(y(t) + 4))\" text-anchor=\"end\">\(y.label(t))</text>\n"
        }
        s += "<rect class=\"axes\" x=\"\(f(margin.left))\" y=\"\(f(top))\" width=\"\(f(width - margin.left - margin.right))\" height=\"\(f(height - top - margin.bottom))\"/>\n"
        s += "<text class=\"axis\" x=\"\(f((margin.left + width - margin.right) / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text class=\"axis\" transform=\"translate(14 \(f((top + height - margin.bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        s += "<g clip-path=\"none\">\n" + body + "</g>\n"
        // Beside the title, right-aligned; or on its own row below the title, wrapping.
        let own = top > margin.top
        var lx = own ? margin.left : width - margin.right - legendWidth(legend), ly = own ? 30.0 : 12.0
        for (name, colour) in legend {
            let w = 22 + 6.5 * Double(name.count)
            if own && lx + w > width - margin.right { lx = margin.left; ly += 14 }
            s += "<rect x=\"\(f(lx))\" y=\"\(f(ly))\" width=\"10\" height=\"10\" style=\"fill:var(--c\(colour % 10))\"/>"
            s += "<text class=\"legend\" x=\"\(f(lx + 14))\" y=\"\(f(ly + 9))\">\(escape(name))</text>\n"
            lx += w
        }
        return s + "</svg>\n"
    }

    /// Lines `(x, y)` per series, with optional shaded bands `(x, lower, upper)` per series.
    static func lines(title: String, xLabel: String, yLabel: String, series: [(name: String, points: [(Double, Double)], colour: Int)],
                      bands: [(points: [(Double, Double, Double)], colour: Int)] = [], step: Bool = false) -> String {
        let xs = series.flatMap { $0.points.map(\.0) } + bands.flatMap { $0.points.map(\.0) }
        let ys = series.flatMap { $0.points.map(\.1) } + bands.flatMap { $0.points.flatMap { [$0.1, $0.2] } }
        var x = Scale(xs, from: margin.left, to: width - margin.right, padding: 0)
        x.integers = xs.allSatisfy { $0 == $0.rounded() }
        let legend = series.count > 1 ? series.map { ($0.name, $0.colour) } : []
        let y = Scale(ys, from: height - margin.bottom, to: plotTop(title: title, legend: legend))
        var body = ""
        for band in bands where !band.points.isEmpty {
            let upper = band.points.map { "\(f(x($0.0))),\(f(y($0.2)))" }
            let lower = band.points.reversed().map { "\(f(x($0.0))),\(f(y($0.1)))" }
            body += "<polygon class=\"band\" style=\"fill:var(--c\(band.colour % 10))\" points=\"\((upper + lower).joined(separator: " "))\"/>\n"
        }
        for s in series where !s.points.isEmpty {
            var d = "M\(f(x(s.points[0].0))),\(f(y(s.points[0].1)))"
            for p in s.points.dropFirst() {
                if step { d += " H\(f(x(p.0))) V\(f(y(p.1)))" } else { d += " L\(f(x(p.0))),\(f(y(p.1)))" }
            }
            body += "<path class=\"line\" style=\"stroke:var(--c\(s.colour % 10))\" d=\"\(d)\"/>\n"
        }
        return frame(title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y, legend: legend, body: body)
    }

    /// Points coloured by group, with optional ellipses `(centre, 2×2 covariance, group)` drawn at
    /// 1 and 2 standard deviations.
    static func scatter(title: String, xLabel: String, yLabel: String, points: [(Double, Double, Int)], groupNames: [String],
                        ellipses: [(centre: (Double, Double), covariance: [[Double]], group: Int)] = []) -> String {
        var xs = points.map(\.0), ys = points.map(\.1)
        func contour(_ e: (centre: (Double, Double), covariance: [[Double]], group: Int), radius: Double) -> [(Double, Double)] {
            let a = max(e.covariance[0][0], 0), b = e.covariance[1][0], c = max(e.covariance[1][1], 0)
            let l11 = a.squareRoot(), l21 = l11 > 0 ? b / l11 : 0, l22 = max(c - l21 * l21, 0).squareRoot()
            return (0...48).map { k in
                let t = 2 * Double.pi * Double(k) / 48, u = radius * cos(t), v = radius * sin(t)
                return (e.centre.0 + l11 * u, e.centre.1 + l21 * u + l22 * v)
            }
        }
        for e in ellipses { for p in contour(e, radius: 2) { xs.append(p.0); ys.append(p.1) } }
        let used = Set(points.map(\.2)).sorted()
        let legend = used.count > 1 && used.count <= 10 ? used.map { (groupNames.indices.contains($0) ? groupNames[$0] : "\($0)", $0) } : []
        let x = Scale(xs, from: margin.left, to: width - margin.right)
        let y = Scale(ys, from: height - margin.bottom, to: plotTop(title: title, legend: legend))
        var body = ""
        for p in points {
            body += "<circle class=\"dot\" cx=\"\(f(x(p.0)))\" cy=\"\(f(y(p.1)))\" r=\"2.2\" style=\"fill:var(--c\(p.2 % 10))\"/>"
        }
        body += "\n"
        for e in ellipses {
            for (radius, dash) in [(1.0, ""), (2.0, " stroke-dasharray=\"4 3\"")] {
                let pts = contour(e, radius: radius).map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " ")
                body += "<polygon class=\"ellipse\"\(dash) style=\"stroke:var(--c\(e.group % 10))\" points=\"\(pts)\"/>\n"
            }
        }
        return frame(title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y, legend: legend, body: body)
    }

    /// A matrix as coloured cells (blue negative, red positive), rows and columns labelled.
    static func heatMap(title: String, rowLabels: [String], columnLabels: [String], values: [[Double]]) -> String {
        let rows = values.count, columns = values.first?.count ?? 0
        let left = 110.0, top = 40.0, cellH = min(24, (height - top - 40) / Double(max(rows, 1)))
        let cellW = min(80, (width - left - 16) / Double(max(columns, 1)))
        let scale = values.flatMap { $0 }.map(abs).max() ?? 1
        var s = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        s += "<text class=\"title\" x=\"\(f(left))\" y=\"22\">\(escape(title))</text>\n"
        s += "<text class=\"legend\" x=\"\(f(width - 16))\" y=\"22\" text-anchor=\"end\">red positive, blue negative; full colour ±\(label(scale))</text>\n"
        for (i, row) in values.enumerated() {
            s += "<text class=\"tick\" x=\"\(f(left - 6))\" y=\"\(f(top + (Double(i) + 0.7) * cellH))\" text-anchor=\"end\">\(escape(rowLabels[i]))</text>"
            for (j, v) in row.enumerated() {
                let t = scale > 0 ? v / scale : 0
                let colour = t >= 0 ? "var(--pos)" : "var(--neg)"
                s += "<rect class=\"cell\" x=\"\(f(left + Double(j) * cellW))\" y=\"\(f(top + Double(i) * cellH))\" width=\"\(f(cellW - 1))\" height=\"\(f(cellH - 1))\" style=\"fill:\(colour);fill-opacity:\(String(format: "%.3f", 0.08 + 0.92 * abs(t)))\"><title>\(escape(rowLabels[i])), \(escape(columnLabels[j])): \(label(v))</title></rect>"
            }
            s += "\n"
        }
        for (j, name) in columnLabels.enumerated() {
            s += "<text class=\"tick\" x=\"\(f(left + (Double(j) + 0.5) * cellW))\" y=\"\(f(top + Double(rows) * cellH + 14))\" text-anchor=\"middle\">\(escape(name))</text>"
        }
        return s + "\n</svg>\n"
    }

    /// Grayscale images (each row of `pixels`, values in [0, 1], `side × side`) in a grid.
    static func imageGrid(title: String, images: [[Double]], side: Int, columns: Int = 8) -> String {
        let gap = 6.0, top = 34.0
        let cell = (width - gap * Double(columns + 1)) / Double(columns), pixel = cell / Double(side)
        let rows = (images.count + columns - 1) / columns
        let h = top + Double(rows) * (cell + gap) + gap
        var s = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(h.rounded(.up)))\" role=\"img\" aria-label=\"\(escape(title))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        s += "<text class=\"title\" x=\"\(f(gap))\" y=\"22\">\(escape(title))</text>\n"
        for (k, image) in images.enumerated() {
            let ox = gap + Double(k % columns) * (cell + gap), oy = top + Double(k / columns) * (cell + gap)
            s += "<g transform=\"translate(\(f(ox)) \(f(oy)))\"><rect class=\"paper\" width=\"\(f(cell))\" height=\"\(f(cell))\"/>"
            for (p, v) in image.enumerated() where v > 0.05 {
                s += "<rect x=\"\(f(Double(p % side) * pixel))\" y=\"\(f(Double(p / side) * pixel))\" width=\"\(f(pixel + 0.05))\" height=\"\(f(pixel + 0.05))\" class=\"ink\" fill-opacity=\"\(String(format: "%.2f", min(1, v)))\"/>"
            }
            s += "</g>\n"
        }
        return s + "</svg>\n"
    }
}
