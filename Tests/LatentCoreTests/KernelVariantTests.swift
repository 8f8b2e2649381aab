import Foundation
import Testing
import LatentCore
import LatentKernels

/// Every build of the C kernels this CPU can run (baseline, AVX2, AVX-512) against scalar
/// references written here, so that a variant the dispatcher does not pick on this machine is still
/// checked.
@Suite struct KernelVariantTests {
    /// The kernel tables live in the library's constant data: read-only for the process's life.
    nonisolated(unsafe) static let levels: [(String, UnsafePointer<latent_kernel_table>)] = [
        ("baseline", LATENT_SIMD_BASELINE), ("avx2", LATENT_SIMD_AVX2), ("avx512", LATENT_SIMD_AVX512),
    ].compactMap { name, level in latent_kernels(level).map { (name, $0) } }

    @Test func theBaselineAndTheWidestSupportedBuildAreAvailable() {
        #expect(Self.levels.first?.0 == "baseline")
        #expect(Self.levels.count == InstructionSet.widestSupported.rawValue + 1)
        #expect(InstructionSet.selected <= InstructionSet.widestSupported)
    }

    @Test func polarFactorsMatchLibm() {
        // s over (0, 1): uniform, near 1 (log s ≈ 0), tiny, and on both sides of the √2 mantissa split.
        var rng = Xoshiro256StarStar(seed: 22)
        var xs = (0..<2001).map { _ in rng.nextOpenUniform() }
        let edges: [Double] = [1 - 1e-16, 1 - 0x1p-53, 0.5, 0.25, 0x1p-104, 0.70710678118654746, 0.70710678118654757]
        xs += (1...60).map { (i: Int) -> Double in Foundation.pow(2.0, -1.7 * Double(i)) }
        xs += edges
        for n in [0, 1, 7, 8, 9, xs.count] {
            let input = Array(xs.prefix(n))
            for (name, kernels) in Self.levels {
                var ys = input
                ys.withUnsafeMutableBufferPointer { kernels.pointee.polar_factors_f64!($0.baseAddress!, $0.count) }
                for (s, y) in zip(input, ys) {
                    let reference = (-2 * Foundation.log(s) / s).squareRoot()
                    #expect(abs(y - reference) <= 4e-16 * reference, "\(name): f(\(s)) = \(y), not \(reference)")
                }
            }
        }
        // The draws follow the standard normal: mean 0, variance 1, a quarter beyond ±0.674.
        var draws = [Float](repeating: 0, count: 200_001)
        draws.withUnsafeMutableBufferPointer { rng.fillNormalPairs($0) }
        let mean = draws.reduce(0.0) { $0 + Double($1) } / Double(draws.count)
        let variance = draws.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(draws.count - 1)
        let tail = Double(draws.filter { abs($0) > 0.6744897 }.count) / Double(draws.count)
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.01 && abs(tail - 0.5) < 0.005, "mean \(mean), variance \(variance), tail \(tail)")
    }

    @Test func softplusDifferencesMatchLibm() {
        var rng = Xoshiro256StarStar(seed: 23)
        let xs: [Float] = (0..<501).map { _ in Float(rng.nextNormal() * 20) } + [0, 1e-30, -1e-30, 800, -800, 40, -40]
        func softplus(_ y: Double) -> Double { Swift.max(y, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(y))) }
        for n in [0, 1, 7, 8, 9, xs.count] {
            for (scale, previous) in [(1.0, 0.0), (0.5, 0.4999), (0.9, 0.1), (1e-4, 0.0)] {
                var reference = 0.0, magnitude = 0.0
                for x in xs.prefix(n) {
                    let a = softplus(scale * Double(x)), b = softplus(previous * Double(x))
                    reference += a - b
                    magnitude += a + b
                }
                for (name, kernels) in Self.levels {
                    let value = xs.withUnsafeBufferPointer { kernels.pointee.softplus_difference_f64!($0.baseAddress!, n, scale, previous) }
                    #expect(abs(value - reference) <= 1e-14 * Swift.max(1, magnitude), "\(name): n \(n), β \(scale) ← \(previous): \(value), not \(reference)")
                }
            }
        }
    }

    @Test func exponentialsAndLogSumExpMatchLibm() {
        var rng = Xoshiro256StarStar(seed: 21)
        let xs = (0..<1001).map { _ in rng.nextUniform() * 1400 - 700 } + [0, 1, -1, 709.7, -708.3, -750, 800, .nan, -.infinity]
        let rows = 37, columns = 7
        // Row 10, inside a block of eight, has no finite score: its sum of exponentials is 0, where
        // the vector logarithm does not apply.
        let scores = (0..<(rows * columns)).map { i in i / columns == 10 ? -.infinity : rng.nextNormal() * 30 - 500 }
        for (name, kernels) in Self.levels {
            var ys = xs
            ys.withUnsafeMutableBufferPointer { kernels.pointee.exp_f64!($0.baseAddress!, $0.count) }
            for (x, y) in zip(xs, ys) {
                let reference = Foundation.exp(x)
                if x.isNaN {
                    #expect(y.isNaN, "\(name)")
                } else if reference < Double.leastNormalMagnitude || reference.isInfinite {
                    #expect(y == 0 || y == reference || abs(y - reference) <= Double.leastNormalMagnitude, "\(name): exp(\(x)) = \(y)")
                } else {
                    #expect(abs(y - reference) / reference < 2e-15, "\(name): exp(\(x)) = \(y), not \(reference)")
                }
            }
            var values = scores, out = [Double](repeating: 0, count: rows)
            values.withUnsafeMutableBufferPointer { v in
                out.withUnsafeMutableBufferPointer { kernels.pointee.log_sum_exp_rows_f64!(v.baseAddress!, rows, columns, $0.baseAddress!, 1) }
            }
            for i in 0..<rows {
                let row = scores[(i * columns)..<((i + 1) * columns)]
                guard i != 10 else {
                    #expect(out[i] == -.infinity, "\(name)")
                    #expect(values[(i * columns)..<((i + 1) * columns)].allSatisfy { $0 == 1 / Double(columns) }, "\(name)")
                    continue
                }
                let top = row.max()!
                let reference = top + log(row.map { exp($0 - top) }.reduce(0, +))
                #expect(abs(out[i] - reference) < 1e-12 * abs(reference), "\(name)")
                for j in 0..<columns {
                    #expect(abs(values[i * columns + j] - exp(scores[i * columns + j] - reference)) < 1e-13, "\(name)")
                }
            }
        }
    }

    @Test func gaussianLogDensitiesMatchScalarSums() {
        var rng = Xoshiro256StarStar(seed: 22)
        let rows = 29, k = 3, d = 5
        let y = (0..<(rows * k * d)).map { _ in rng.nextNormal() }
        let projected = (0..<(k * d)).map { _ in rng.nextNormal() }
        let constants = (0..<k).map { _ in rng.nextNormal() }
        let x = (0..<(rows * d)).map { _ in rng.nextNormal() * 3 + 1 }
        let shift = (0..<d).map { _ in rng.nextNormal() }
        // Upper triangular factors, stored as the mixture kernel stacks them: [a·k·d + c·d + b].
        var factors = [Double](repeating: 0, count: d * k * d)
        for a in 0..<d { for c in 0..<k { for b in a..<d { factors[a * k * d + c * d + b] = rng.nextNormal() } } }
        let weights = (0..<(rows * k)).map { _ in rng.nextUniform() }
        for (name, kernels) in Self.levels {
            for (rowStride, componentStride) in [(k * d, d), (d, 0)] {
                var out = [Double](repeating: 0, count: rows * k)
                kernels.pointee.whitened_log_densities_f64!(y, rows, k, d, rowStride, componentStride, projected, constants, &out)
                for i in 0..<rows {
                    for c in 0..<k {
                        var s = 0.0
                        for j in 0..<d { let t = y[i * rowStride + c * componentStride + j] - projected[c * d + j]; s += t * t }
                        #expect(abs(out[i * k + c] - (constants[c] - 0.5 * s)) < 1e-12 * max(1, s), "\(name)")
                    }
                }
            }
            var small = [Double](repeating: 0, count: rows * k)
            kernels.pointee.small_full_log_densities_f64!(x, rows, k, d, shift, factors, projected, constants, &small)
            for i in 0..<rows {
                for c in 0..<k {
                    var s = 0.0
                    for b in 0..<d {
                        var e = -projected[c * d + b]
                        for a in 0...b { e += (x[i * d + a] - shift[a]) * factors[a * k * d + c * d + b] }
                        s += e * e
                    }
                    #expect(abs(small[i * k + c] - (constants[c] - 0.5 * s)) < 1e-12 * max(1, s), "\(name)")
                }
            }
            var deviations = [Double](repeating: 0, count: rows * d)
            kernels.pointee.weighted_deviations_f64!(x, rows, d, shift, weights.withUnsafeBufferPointer { $0.baseAddress! + 1 }, k, &deviations)
            for i in 0..<rows {
                for j in 0..<d {
                    #expect(abs(deviations[i * d + j] - weights[i * k + 1].squareRoot() * (x[i * d + j] - shift[j])) < 1e-13, "\(name)")
                }
            }
        }
    }

    @Test func bernoulliTermsAndSigmoidMatchDoublePrecision() {
        var rng = Xoshiro256StarStar(seed: 23)
        let n = 45
        let x = (0..<n).map { _ in Float(rng.nextUniform() < 0.4 ? 1 : 0) }
        let f = (0..<n).map { _ in Float(rng.nextNormal() * 8) }
        for (name, kernels) in Self.levels {
            var g = [Float](repeating: 0, count: n)
            let total = kernels.pointee.bernoulli_f32!(x, f, n, 0.25, &g)
            var reference = 0.0
            for j in 0..<n {
                let fd = Double(f[j])
                reference += Double(x[j]) * fd - (max(fd, 0) + log1p(exp(-abs(fd))))
                #expect(abs(Double(g[j]) - 0.25 * (Double(x[j]) - 1 / (1 + exp(-fd)))) < 1e-6, "\(name)")
            }
            #expect(abs(total - reference) < 1e-5 * max(1, abs(reference)), "\(name)")
            var s = f
            kernels.pointee.sigmoid_f32!(&s, n)
            for j in 0..<n { #expect(abs(Double(s[j]) - 1 / (1 + exp(-Double(f[j])))) < 1e-6, "\(name)") }
        }
    }

    @Test func adamStepAndBernoulliScoreMatchDoublePrecision() {
        var rng = Xoshiro256StarStar(seed: 25)
        let n = 83   // whole vectors and a scalar tail at every width
        let p0 = (0..<n).map { _ in Float(rng.nextNormal()) }, g = (0..<n).map { _ in Float(rng.nextNormal() * 3) }
        let m0 = (0..<n).map { _ in Float(rng.nextNormal() * 0.1) }, v0 = (0..<n).map { _ in Float(rng.nextUniform() * 0.2) }
        let constants: [Float] = [0.5, 0.9, 0.999, -0.01, 1e-8]
        // The score over 20,011 terms: every lane folds its product into a logarithm at least twice.
        let terms = 20_011
        let x = (0..<terms).map { _ in Float(rng.nextUniform() < 0.4 ? 1 : 0) }
        let f = (0..<terms).map { _ in Float(rng.nextNormal() * 8) }
        let reference = (0..<terms).reduce(0.0) { sum, j in
            let fd = Double(f[j])
            return sum + Double(x[j]) * fd - (max(fd, 0) + log1p(exp(-abs(fd))))
        }
        for (name, kernels) in Self.levels {
            var p = p0, m = m0, v = v0
            kernels.pointee.adam_f32!(&p, g, nil, &m, &v, n, constants)
            for i in 0..<n {
                let gi = 0.5 * Double(g[i]), mi = 0.9 * Double(m0[i]) + 0.1 * gi, vi = 0.999 * Double(v0[i]) + 0.001 * gi * gi
                let pi = Double(p0[i]) - 0.01 * mi / (vi.squareRoot() + 1e-8)
                #expect(abs(Double(m[i]) - mi) < 1e-6 && abs(Double(v[i]) - vi) < 1e-6 && abs(Double(p[i]) - pi) < 1e-5, "\(name) \(i)")
            }
            // A gradient given in two halves (each g here, at half the scale) takes the same step exactly.
            var p2 = p0, m2 = m0, v2 = v0
            kernels.pointee.adam_f32!(&p2, g, g, &m2, &v2, n, [0.25, 0.9, 0.999, -0.01, 1e-8])
            #expect(p2 == p && m2 == m && v2 == v, "\(name)")
            let score = kernels.pointee.bernoulli_f32!(x, f, terms, 0, nil)
            #expect(abs(score - reference) < 2e-7 * Double(terms) + 1e-6, "\(name): \(score) against \(reference)")
        }
    }

    @Test func sparseProductsEqualDenseOnes() {
        var rng = Xoshiro256StarStar(seed: 24)
        // 211 output columns cover every path: whole strips, single vectors and a scalar tail.
        let rows = 13, columns = 17, n = 211
        var dense = [Double](repeating: 0, count: rows * columns)
        var starts = [0], indices: [Int32] = [], values: [Double] = []
        for i in 0..<rows {
            for j in 0..<columns where rng.nextUniform() < 0.3 {
                let v = Double(Int(rng.nextNormal() * 4))
                dense[i * columns + j] = v
                indices.append(Int32(j))
                values.append(v)
            }
            starts.append(values.count)
        }
        let w = (0..<(columns * n)).map { _ in rng.nextNormal() }
        let g = (0..<(rows * n)).map { _ in rng.nextNormal() }
        let y0 = (0..<(rows * n)).map { _ in rng.nextNormal() }
        let d0 = (0..<(columns * n)).map { _ in rng.nextNormal() }
        for (name, kernels) in Self.levels {
            // Compressing the dense matrix keeps its nonzeros (the list above also holds some zeros), in
            // order; one entry of room too few is refused.
            let kept = values.indices.filter { values[$0] != 0 }
            let keptStarts = starts.map { end in kept.filter { $0 < end }.count }
            let count = kept.count
            var s = [Int](repeating: -1, count: rows + 1), ix = [Int32](repeating: -1, count: count)
            var vx = [Double](repeating: .nan, count: count), vf = [Float](repeating: .nan, count: count)
            #expect(kernels.pointee.compress_rows_f64!(dense, rows, columns, count, &s, &ix, &vx) == count, "\(name)")
            #expect(s == keptStarts && ix == kept.map { indices[$0] } && vx == kept.map { values[$0] }, "\(name)")
            #expect(kernels.pointee.compress_rows_f32!(dense.map(Float.init), rows, columns, count, &s, &ix, &vf) == count, "\(name)")
            #expect(s == keptStarts && ix == kept.map { indices[$0] } && vf == kept.map { Float(values[$0]) }, "\(name)")
            #expect(kernels.pointee.compress_rows_f64!(dense, rows, columns, count - 1, &s, &ix, &vx) == -1, "\(name)")
            var y = y0, dw = [Double](repeating: .nan, count: columns * n)
            kernels.pointee.sparse_multiply_f64!(rows, starts, indices, values, w, n, &y)
            var ends = [Int](repeating: -1, count: columns + 1), entryRows = [Int32](repeating: -1, count: values.count)
            var entryValues = [Double](repeating: .nan, count: values.count), entryValuesF = [Float](repeating: .nan, count: values.count)
            // β = 0 never reads dW (NaN there stays out of the result); α = 0.5, β = −2 scales and adds.
            kernels.pointee.sparse_transposed_multiply_f64!(rows, columns, starts, indices, values, g, n, &dw, &ends, &entryRows, &entryValues,
                                                            1, 0)
            var dwAdded = d0
            kernels.pointee.sparse_transposed_multiply_f64!(rows, columns, starts, indices, values, g, n, &dwAdded, &ends, &entryRows,
                                                            &entryValues, 0.5, -2)
            var yf = y0.map(Float.init), dwf = [Float](repeating: .nan, count: columns * n)
            let valuesF = values.map(Float.init), wf = w.map(Float.init), gf = g.map(Float.init)
            kernels.pointee.sparse_multiply_f32!(rows, starts, indices, valuesF, wf, n, &yf)
            kernels.pointee.sparse_transposed_multiply_f32!(rows, columns, starts, indices, valuesF, gf, n, &dwf, &ends, &entryRows,
                                                            &entryValuesF, 1, 0)
            var dwfAdded = d0.map(Float.init)
            kernels.pointee.sparse_transposed_multiply_f32!(rows, columns, starts, indices, valuesF, gf, n, &dwfAdded, &ends, &entryRows,
                                                            &entryValuesF, 0.5, -2)
            for i in 0..<rows {
                for c in 0..<n {
                    var s = y0[i * n + c]
                    for j in 0..<columns { s += dense[i * columns + j] * w[j * n + c] }
                    #expect(abs(y[i * n + c] - s) < 1e-12 * max(1, abs(s)), "\(name)")
                    #expect(abs(Double(yf[i * n + c]) - s) < 1e-4 * max(1, abs(s)), "\(name)")
                }
            }
            for j in 0..<columns {
                for c in 0..<n {
                    var s = 0.0
                    for i in 0..<rows { s += dense[i * columns + j] * g[i * n + c] }
                    #expect(abs(dw[j * n + c] - s) < 1e-12 * max(1, abs(s)), "\(name)")
                    #expect(abs(Double(dwf[j * n + c]) - s) < 1e-4 * max(1, abs(s)), "\(name)")
                    let added = 0.5 * s - 2 * d0[j * n + c]
                    #expect(abs(dwAdded[j * n + c] - added) < 1e-12 * max(1, abs(added)), "\(name)")
                    #expect(abs(Double(dwfAdded[j * n + c]) - added) < 1e-4 * max(1, abs(added)), "\(name)")
                }
            }
        }
    }

    @Test func smallDimensionStatisticsEqualTheSumsOverRows() {
        var rng = Xoshiro256StarStar(seed: 26)
        // 300 rows: two whole blocks of 128 and a partial one whose last eight rows fill five lanes.
        for (rows, d, k) in [(300, 3, 4), (13, 1, 1), (0, 2, 2)] {
            let x = (0..<(rows * d)).map { _ in rng.nextNormal() * 3 + 1 }
            let r = (0..<(rows * k)).map { _ in rng.nextUniform() }
            let shift = (0..<d).map { _ in rng.nextNormal() }
            let start = (0..<(k + k * d + k * d * d)).map { _ in rng.nextNormal() }
            let features = 1 + d + d * (d + 1) / 2
            for (name, kernels) in Self.levels {
                var stats = start, scratch = [Double](repeating: .nan, count: (features + k) * 136 + 8 * k * features)
                kernels.pointee.small_dimension_statistics_f64!(x, r, rows, d, k, shift, &stats, &scratch)
                for c in 0..<k {
                    var total = start[c]
                    for i in 0..<rows { total += r[i * k + c] }
                    #expect(abs(stats[c] - total) < 1e-12 * max(1, abs(total)), "\(name)")
                    for a in 0..<d {
                        var s = start[k + c * d + a]
                        for i in 0..<rows { s += r[i * k + c] * (x[i * d + a] - shift[a]) }
                        #expect(abs(stats[k + c * d + a] - s) < 1e-12 * max(1, abs(s)), "\(name)")
                        for b in 0..<d {
                            let at = k + k * d + c * d * d + a * d + b
                            guard b >= a else { #expect(stats[at] == start[at], "\(name): a lower triangle was written"); continue }
                            var q = start[at]
                            for i in 0..<rows { q += r[i * k + c] * (x[i * d + a] - shift[a]) * (x[i * d + b] - shift[b]) }
                            #expect(abs(stats[at] - q) < 1e-11 * max(1, abs(q)), "\(name)")
                        }
                    }
                }
            }
        }
    }

    @Test func chunkedTransposedProductEqualsTheSumOverRows() {
        var rng = Xoshiro256StarStar(seed: 25)
        // 18 columns: four whole chunks of four and a partial one; 213 outputs: strips, single vectors,
        // a whole short vector and a partial one. Nonzeros come in runs along the rows, as in images.
        let rowsX = 11, rowsY = 7, columns = 18, n = 213
        func runs(_ rows: Int) -> [Double] {
            var m = [Double](repeating: 0, count: rows * columns)
            for i in 0..<rows {
                var j = rng.nextInt(below: columns)
                while j < columns {
                    let length = 1 + rng.nextInt(below: 5)
                    for c in j..<min(columns, j + length) { m[i * columns + c] = Double(Int(rng.nextNormal() * 3)) + 0.5 }
                    j += length + rng.nextInt(below: 8)
                }
            }
            return m
        }
        let x = runs(rowsX), y = runs(rowsY)
        let g = (0..<(rowsX * n)).map { _ in rng.nextNormal() }, k = (0..<(rowsY * n)).map { _ in rng.nextNormal() }
        let d0 = (0..<(columns * n)).map { _ in rng.nextNormal() }
        let chunks = (columns + 3) / 4
        var listed = 0
        for m in [(x, rowsX), (y, rowsY)] {
            for i in 0..<m.1 { for q in 0..<chunks where (4 * q..<min(columns, 4 * q + 4)).contains(where: { m.0[i * columns + $0] != 0 }) { listed += 1 } }
        }
        func expected(_ j: Int, _ c: Int, alpha: Double, beta: Double) -> Double {
            var s = 0.0
            for i in 0..<rowsX { s += x[i * columns + j] * g[i * n + c] }
            for i in 0..<rowsY { s -= y[i * columns + j] * k[i * n + c] }
            return alpha * s + beta * d0[j * n + c]
        }
        for (name, kernels) in Self.levels {
            let slots = listed + chunks
            var starts = [Int](repeating: -1, count: chunks + 1), ends = starts
            var sources = [UnsafePointer<Double>?](repeating: nil, count: slots), values = [Double](repeating: .nan, count: 4 * slots)
            var sourcesF = [UnsafePointer<Float>?](repeating: nil, count: slots), valuesF = [Float](repeating: .nan, count: 4 * slots)
            let (xf, yf, gf, kf) = (x.map(Float.init), y.map(Float.init), g.map(Float.init), k.map(Float.init))
            for (alpha, beta) in [(1.0, 0.0), (0.5, -2.0)] {
                // β = 0 never reads dW (NaN there stays out of the result).
                var dw = beta == 0 ? [Double](repeating: .nan, count: columns * n) : d0
                var dwf = dw.map(Float.init)
                let r = kernels.pointee.chunked_transposed_multiply_f64!(columns, n, rowsX, x, g, rowsY, y, k, -1, &dw, alpha, beta, listed,
                                                                         &starts, &ends, &sources, &values)
                let rf = kernels.pointee.chunked_transposed_multiply_f32!(columns, n, rowsX, xf, gf, rowsY, yf, kf, -1, &dwf, Float(alpha),
                                                                          Float(beta), listed, &starts, &ends, &sourcesF, &valuesF)
                if name == "baseline" {
                    // Declined on narrow vectors: the caller's sparse product does the work.
                    #expect(r == -1 && rf == -1 && (beta == 0 ? dw.allSatisfy(\.isNaN) : dw == d0))
                    continue
                }
                #expect(r == 0 && rf == 0, "\(name)")
                for j in 0..<columns {
                    for c in 0..<n {
                        let e = expected(j, c, alpha: alpha, beta: beta)
                        #expect(abs(dw[j * n + c] - e) < 1e-12 * max(1, abs(e)), "\(name) \(j) \(c)")
                        #expect(abs(Double(dwf[j * n + c]) - e) < 1e-4 * max(1, abs(e)), "\(name) \(j) \(c)")
                    }
                }
            }
            // One chunk more than the room: refused, dW untouched.
            var dw = d0
            #expect(kernels.pointee.chunked_transposed_multiply_f64!(columns, n, rowsX, x, g, rowsY, y, k, -1, &dw, 1, 1, listed - 1,
                                                                     &starts, &ends, &sources, &values) == -1, "\(name)")
            #expect(dw == d0, "\(name)")
        }
    }

    @Test func scaledEmissionLikelihoodsSubtractEachStepsMaximum() {
        let k = 3, p = 8, steps = 5
        let logB: [Double] = [-1, -2, -3, 10, 12, 11, -.infinity, -.infinity, -.infinity, -700, -800, -900, 0, 0, 0]
        for (name, kernels) in Self.levels {
            var b = [Double](repeating: .nan, count: steps * p)
            let total = kernels.pointee.hmm_exponentiate_f64!(k, p, logB, 1, steps, &b)
            #expect(total == 12 + 0 - 700 + 0, "\(name)")
            #expect(b[0..<p].allSatisfy { $0.isNaN }, "\(name): a step outside the range was written")
            for t in 1..<steps {
                let m = [12.0, 0, -700, 0][t - 1]
                for s in 0..<p {
                    let expected = s < k ? exp(logB[t * k + s] - m) : 0
                    #expect(abs(b[t * p + s] - expected) <= 1e-15 * expected, "\(name) step \(t) state \(s)")
                }
            }
        }
    }

    /// The scaled recursions against the same recursions written plainly, for 3 states in 4 lanes
    /// and 6 in 8, over a sequence long enough to need rescaling.
    @Test func markovRecursionsMatchPlainScaledRecursions() {
        var rng = Xoshiro256StarStar(seed: 25)
        for (k, lanes) in [(3, 4), (6, 8)] {
            let steps = 300
            var a = [Double](repeating: 0, count: lanes * lanes)
            for i in 0..<k {
                let row = rng.nextDirichlet([Double](repeating: 1, count: k))
                for j in 0..<k { a[i * lanes + j] = row[j] }
            }
            var at = [Double](repeating: 0, count: lanes * lanes)
            for i in 0..<lanes { for j in 0..<lanes { at[j * lanes + i] = a[i * lanes + j] } }
            // Emissions spanning many orders of magnitude, so that the sums leave [2⁻⁶⁴, 2⁶⁴].
            var b = [Double](repeating: 0, count: steps * lanes)
            for t in 0..<steps { for s in 0..<k { b[t * lanes + s] = exp(rng.nextNormal() * 3 - 2) } }
            // The plain recursions, with the same rescaling rule.
            func rescaled(_ v: [Double]) -> ([Double], Double) {
                let s = v.reduce(0, +)
                return s > 0 && !(s >= 0x1p-64 && s <= 0x1p64) ? (v.map { $0 / s }, s) : (v, 1)
            }
            var alphaRef = [[Double]](repeating: [], count: steps), betaRef = alphaRef
            var forwardScales = [Double](repeating: 1, count: steps), backwardScales = forwardScales
            alphaRef[0] = (0..<lanes).map { $0 < k ? b[$0] / Double(k) : 0 }
            for t in 1..<steps {
                let u = (0..<lanes).map { j in (0..<lanes).reduce(0.0) { $0 + alphaRef[t - 1][$1] * a[$1 * lanes + j] } * b[t * lanes + j] }
                (alphaRef[t], forwardScales[t]) = rescaled(u)
            }
            betaRef[steps - 1] = (0..<lanes).map { $0 < k ? 1 : 0 }
            for s in stride(from: steps - 2, through: 0, by: -1) {
                let u = (0..<lanes).map { i in (0..<lanes).reduce(0.0) { $0 + a[i * lanes + $1] * b[(s + 1) * lanes + $1] * betaRef[s + 1][$1] } }
                (betaRef[s], backwardScales[s]) = rescaled(u)
            }
            #expect(forwardScales.contains { $0 != 1 } && backwardScales.contains { $0 != 1 }, "the test must exercise rescaling")
            func close(_ x: Double, _ y: Double) -> Bool { abs(x - y) <= 1e-12 * max(abs(x), abs(y), 1e-300) }
            let index = lanes == 4 ? 0 : 1
            for (name, kernels) in Self.levels {
                let forward = [kernels.pointee.hmm_forward.0, kernels.pointee.hmm_forward.1][index]!
                let backward = [kernels.pointee.hmm_backward.0, kernels.pointee.hmm_backward.1][index]!
                let both = [kernels.pointee.hmm_forward_backward.0, kernels.pointee.hmm_forward_backward.1][index]!
                let posteriors = [kernels.pointee.hmm_posteriors.0, kernels.pointee.hmm_posteriors.1][index]!
                var alpha = [Double](repeating: 0, count: steps * lanes), beta = alpha
                var fs = [Double](repeating: 1, count: steps), bs = fs
                for s in 0..<lanes { alpha[s] = alphaRef[0][s]; beta[(steps - 1) * lanes + s] = betaRef[steps - 1][s] }
                forward(a, b, steps, &alpha, &fs)
                backward(at, b, steps, &beta, &bs)
                var alpha2 = alpha, beta2 = beta, fs2 = fs, bs2 = bs
                both(a, at, b, steps, &alpha2, &beta2, &fs2, &bs2)
                #expect(alpha2 == alpha && beta2 == beta && fs2 == fs && bs2 == bs, "\(name): interleaved and separate chains differ")
                for t in 0..<steps {
                    #expect(close(fs[t], forwardScales[t]) && close(bs[t], backwardScales[t]), "\(name) K=\(k) step \(t)")
                    for s in 0..<lanes {
                        #expect(close(alpha[t * lanes + s], alphaRef[t][s]) && close(beta[t * lanes + s], betaRef[t][s]), "\(name) K=\(k) step \(t)")
                    }
                }
                var gamma = [Double](repeating: .nan, count: steps * k), sums = [Double](repeating: 0, count: k * lanes)
                posteriors(k, 0, steps, steps, alpha, beta, b, bs, &gamma, &sums)
                var sumsRef = [Double](repeating: 0, count: k * lanes)
                for t in 0..<steps {
                    let overlap = (0..<lanes).reduce(0.0) { $0 + alphaRef[t][$1] * betaRef[t][$1] }
                    for s in 0..<k { #expect(close(gamma[t * k + s], alphaRef[t][s] * betaRef[t][s] / overlap), "\(name)") }
                    guard t + 1 < steps else { continue }
                    for i in 0..<k {
                        for j in 0..<lanes {
                            sumsRef[i * lanes + j] += alphaRef[t][i] * b[(t + 1) * lanes + j] * betaRef[t + 1][j] / (backwardScales[t] * overlap)
                        }
                    }
                }
                for e in 0..<(k * lanes) { #expect(abs(sums[e] - sumsRef[e]) <= 1e-10 * max(1, abs(sumsRef[e])), "\(name)") }
            }
        }
    }
}
