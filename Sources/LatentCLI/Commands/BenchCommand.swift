import ArgumentParser
import Foundation
import Latent

/// `latent bench`: kernel-level microbenchmarks of the hot paths, so regressions show up.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the hot kernels on seeded synthetic data: GEMM rate, the exp kernel, the mixture E+M pass, HMM forward-backward.",
        discussion: "Each kernel runs --repetitions times after one warm-up; the median and the best are reported, with the instruction set of Latent's C kernels (LATENT_SIMD=baseline|avx2 caps it). The side-by-side comparison with scikit-learn, hmmlearn and PyTorch is `make bench` (BENCHMARKS.md)."
    )

    @Option(name: .long, help: "Timed runs per kernel.")
    var repetitions: Int = 7
    @Option(name: .long, parsing: .unconditional, help: "Cores for the row-parallel kernels.")
    var threads: Int = 1
    @Option(name: .long, help: "Rows of the synthetic data.")
    var rows: Int = 100_000
    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard repetitions >= 1, threads >= 1, rows >= 1000 else { throw ValidationError("--repetitions and --threads must be ≥ 1, --rows ≥ 1000") }
    }

    struct Result { let name: String; let median: Double; let best: Double; let work: Double; let unit: String }

    func time(_ name: String, work: Double, unit: String, _ body: () throws -> Void) rethrows -> Result {
        try body()
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let (_, seconds) = try Console.timed(body)
            samples.append(seconds)
        }
        samples.sort()
        return Result(name: name, median: samples[samples.count / 2], best: samples[0], work: work, unit: unit)
    }

    func run() throws {
        BLAS.setThreads(1)
        var rng = Xoshiro256StarStar(seed: 1)
        let n = rows, d = 16, k = 8
        var results: [Result] = []

        // DGEMM on the E-step's shape: (n × 16) · (16 × 128).
        var a = Matrix<Double>(rows: n, columns: d), b = Matrix<Double>(rows: d, columns: d * k)
        a.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        b.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        var product = [Double](repeating: 0, count: n * d * k)
        results.append(time("dgemm \(n)x16 * 16x128", work: 2.0 * Double(n * d * d * k) / 1e9, unit: "GFLOP") {
            Double.gemm(.none, .none, m: n, n: d * k, k: d, alpha: 1, a: a.elements, lda: d, b: b.elements, ldb: d * k,
                        beta: 0, c: &product, ldc: d * k)
        })
        let square = Matrix<Double>(rows: 512, columns: 512, repeating: 1.0)
        var squareProduct = [Double](repeating: 0, count: 512 * 512)
        results.append(time("dgemm 512x512 * 512x512", work: 2.0 * 512 * 512 * 512 / 1e9, unit: "GFLOP") {
            Double.gemm(.none, .none, m: 512, n: 512, k: 512, alpha: 1, a: square.elements, lda: 512, b: square.elements, ldb: 512,
                        beta: 0, c: &squareProduct, ldc: 512)
        })

        // The exponential kernel, in place on a copy of the inputs (the copy is timed too).
        let count = n * k
        var values = [Double](repeating: 0, count: count)
        for i in values.indices { values[i] = -30 * rng.nextUniform() }
        var exponentials = [Double](repeating: 0, count: count)
        results.append(time("exp (C kernel, \(InstructionSet.selected))", work: Double(count) / 1e9, unit: "Gexp") {
            exponentials.withUnsafeMutableBufferPointer { dst in
                values.withUnsafeBufferPointer { src in dst.baseAddress!.update(from: src.baseAddress!, count: count) }
                VectorMath.expInPlace(dst)
            }
        })

        // Mixture E+M pass: one EM iteration on N = rows, D = 16, K = 8.
        let truth = try syntheticMixture(d: d, k: k, rng: &rng)
        let x = truth.sample(count: n, using: &rng).points
        for type in [CovarianceType.full, .diag] {
            var options = MixtureFitOptions()
            options.covarianceType = type
            options.threads = threads
            options.initialMeans = truth.means
            options.em = EMOptions(maxIterations: 1, tolerance: 0)
            // Initialisation from the means, one E+M step and the final E-step: about three passes.
            results.append(try time("gmm \(type.rawValue): start + 1 EM step + score (N=\(n), D=16, K=8)", work: Double(n) / 1e6, unit: "Mrows") {
                _ = try GaussianMixture.fit(x, components: k, options: options)
            })
        }

        // HMM over T = rows steps, K = 4, D = 4, full covariances (the shape of issue 4's benchmark).
        let hmmTruth = try syntheticMixture(d: 4, k: 4, rng: &rng)
        let hmm = try HiddenMarkovModel(
            startProbabilities: [0.25, 0.25, 0.25, 0.25],
            transitions: Matrix([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7]]),
            emission: GaussianEmission(means: hmmTruth.means, covariances: hmmTruth.covariances))
        let sequence = hmm.sample(length: n, using: &rng).observations
        results.append(time("hmm emission log-densities (T=\(n), K=4, D=4 full)", work: Double(n) / 1e6, unit: "Msteps") {
            _ = hmm.emission.logLikelihoods(of: sequence, threads: threads)
        })
        results.append(time("hmm posteriors (T=\(n), K=4, D=4 full)", work: Double(n) / 1e6, unit: "Msteps") {
            _ = hmm.posteriors(of: sequence, threads: threads)
        })
        var hmmOptions = HMMFitOptions<GaussianEmission>()
        hmmOptions.warmStart = hmm
        hmmOptions.threads = threads
        hmmOptions.em = EMOptions(maxIterations: 5, tolerance: 0)
        results.append(try time("hmm Baum-Welch, 5 iterations + score (T=\(n))", work: 5 * Double(n) / 1e6, unit: "Msteps") {
            _ = try HiddenMarkovModel<GaussianEmission>.fit(sequence, states: 4, options: hmmOptions)
        })

        if json {
            let items: [JSONValue] = results.map { r in
                var o = JSONObject()
                o["kernel"] = .string(r.name)
                o["medianSeconds"] = .number(r.median)
                o["bestSeconds"] = .number(r.best)
                o["rate"] = .number(r.work / r.median)
                o["rateUnit"] = .string(r.unit + "/s")
                return .object(o)
            }
            var o = JSONObject()
            o["threads"] = .integer(threads)
            o["blasCore"] = .string(BLAS.coreName)
            o["instructionSet"] = .string(InstructionSet.selected.description)
            o["kernels"] = .array(items)
            Console.printJSON(o)
        } else {
            var text = "BLAS kernels: \(BLAS.coreName); Latent's C kernels: \(InstructionSet.selected)\n"
            text += MixtureReport.pad("kernel", 52) + MixtureReport.pad("median", 12) + MixtureReport.pad("best", 12) + "rate (median)\n"
            for r in results {
                text += MixtureReport.pad(r.name, 52) + MixtureReport.pad(String(format: "%.2f ms", r.median * 1e3), 12)
                text += MixtureReport.pad(String(format: "%.2f ms", r.best * 1e3), 12)
                text += String(format: "%.2f %@/s", r.work / r.median, r.unit) + "\n"
            }
            Console.print(text)
        }
    }

    func syntheticMixture(d: Int, k: Int, rng: inout Xoshiro256StarStar) throws -> GaussianMixture {
        var means = Matrix<Double>(rows: k, columns: d)
        means.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        means = 4 * means
        let covariances: [Matrix<Double>] = (0..<k).map { _ in
            var f = Matrix<Double>(rows: d, columns: d)
            f.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
            return (1 / Double(d)) * f.gram + Matrix.identity(d)
        }
        return try GaussianMixture(weights: [Double](repeating: 1 / Double(k), count: k), means: means, covariances: .full(covariances))
    }
}
