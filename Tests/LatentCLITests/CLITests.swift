import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct CLITests {
    let dir = TestData.temporaryDirectory()
    var faithful: String { TestData.path("faithful.csv") }

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func fitPrintsTheContractKeysAndWritesAReproducibleModel() throws {
        let out1 = dir.appendingPathComponent("a.json").path, out2 = dir.appendingPathComponent("b.json").path
        let args = ["fit", "gmm", "--data", faithful, "--components", "2", "--covariance", "full", "--seed", "7", "--json"]
        let r1 = try CommandRunner.run(args + ["--output", out1])
        #expect(r1.status == 0, "\(r1.standardError)")
        let o = try json(r1.standardOutput)
        for key in ["model", "meanLogLikelihood", "logLikelihood", "n", "parameters", "bic", "aic", "iterations",
                    "converged", "seconds", "components", "covariance"] {
            #expect(o[key] != nil, "missing key \(key)")
        }
        #expect(o["model"] as? String == "gmm" && o["n"] as? Int == 272 && o["parameters"] as? Int == 11)
        #expect(abs((o["meanLogLikelihood"] as? Double ?? 0) - (-4.1554)) < 1e-3)
        #expect(!r1.standardError.isEmpty)  // progress goes to stderr
        let r2 = try CommandRunner.run(args + ["--output", out2, "--threads", "1", "--quiet"])
        #expect(r2.status == 0 && r2.standardError.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out1)) == Data(contentsOf: URL(fileURLWithPath: out2)))

        let score = try json(CommandRunner.run(["score", "--model", out1, "--data", faithful, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as? Double ?? 0) - (o["logLikelihood"] as? Double ?? 1)) < 1e-6)
        let perRow = try CommandRunner.run(["score", "--model", out1, "--data", faithful]).standardOutput
        #expect(perRow.split(separator: "\n").count == 273)
        let labels = try CommandRunner.run(["predict", "--model", out1, "--data", faithful]).standardOutput.split(separator: "\n")
        #expect(labels.first == "component" && labels.count == 273 && Set(labels.dropFirst()) == ["0", "1"])
        let probs = try CommandRunner.run(["predict", "--model", out1, "--data", faithful, "--probabilities"]).standardOutput
        #expect(probs.hasPrefix("p0,p1\n"))
        let sample = try CommandRunner.run(["sample", "--model", out1, "--count", "5", "--seed", "3"]).standardOutput
        #expect(sample.hasPrefix("eruptions,waiting,component\n") && sample.split(separator: "\n").count == 6)
        #expect(sample == (try CommandRunner.run(["sample", "--model", out1, "--count", "5", "--seed", "3"]).standardOutput))
        let info = try json(CommandRunner.run(["info", "--model", out1, "--json"]).standardOutput)
        #expect(info["components"] as? Int == 2 && info["covariance"] as? String == "full")
    }

    /// `--acceleration`: SQUAREM by default for mixtures and HMMs (`--json` key `acceleration`),
    /// plain EM on request, the same optimum either way, and a clear refusal of other values.
    @Test func accelerationIsChosenAndReported() throws {
        let out = dir.appendingPathComponent("acc.json").path
        let base = ["fit", "gmm", "--data", faithful, "--components", "3", "--seed", "1", "--output", out, "--json", "--quiet"]
        let fast = try json(CommandRunner.run(base).standardOutput)
        let plain = try json(CommandRunner.run(base + ["--acceleration", "none"]).standardOutput)
        #expect(fast["acceleration"] as? String == "squarem" && plain["acceleration"] as? String == "none")
        let a = try #require(fast["meanLogLikelihood"] as? Double), b = try #require(plain["meanLogLikelihood"] as? Double)
        #expect(abs(a - b) < 1e-5, "squarem \(a), plain \(b)")
        let bad = try CommandRunner.run(base + ["--acceleration", "fast"])
        #expect(bad.status != 0 && bad.standardError.contains("acceleration") && bad.standardError.contains("squarem"))
        let hmm = try json(CommandRunner.run(["fit", "hmm", "--data", TestData.path("nile.csv"), "--columns", "flow", "--states", "2",
                                              "--output", out, "--json", "--quiet"]).standardOutput)
        #expect(hmm["acceleration"] as? String == "squarem")
        // Fits that run plain EM only refuse SQUAREM by name and accept `none`.
        for args in [["fit", "fa", "--data", faithful, "--factors", "1"], ["fit", "gmm", "--data", faithful, "--components", "2", "--stream"]] {
            let refused = try CommandRunner.run(args + ["--output", out, "--acceleration", "squarem", "--quiet"])
            #expect(refused.status != 0 && refused.standardError.contains("runs plain EM"), "\(args): \(refused.standardError)")
            let plain = try CommandRunner.run(args + ["--output", out, "--acceleration", "none", "--quiet"])
            #expect(plain.status == 0, "\(args): \(plain.standardError)")
        }
    }

    /// The model file records whether the start in data units was made: by default, not with
    /// `--no-data-units-start`, and not with a single start.
    @Test func theStartInDataUnitsIsRecorded() throws {
        let out = dir.appendingPathComponent("units.json").path
        let base = ["fit", "gmm", "--data", faithful, "--components", "2", "--output", out, "--quiet"]
        for (extra, made) in [([String](), true), (["--no-data-units-start"], false), (["--restarts", "1"], false)] {
            let r = try CommandRunner.run(base + extra)
            #expect(r.status == 0, "\(extra): \(r.standardError)")
            #expect(try String(contentsOfFile: out, encoding: .utf8).contains("\"dataUnitsStart\" : \"\(made)\""), "\(extra)")
        }
    }

    /// `fit hmm` without `--restarts` stops once 3 starts agree (at most 16); with it, makes exactly
    /// that many starts. `starts` in `--json` says how many were made.
    @Test func hmmStartsStopOnAgreementUnlessCounted() throws {
        let out = dir.appendingPathComponent("starts.json").path
        let base = ["fit", "hmm", "--data", TestData.path("nile.csv"), "--columns", "flow", "--states", "2", "--output", out, "--json", "--quiet"]
        let adaptive = try json(CommandRunner.run(base).standardOutput)
        let made = try #require(adaptive["starts"] as? Int)
        #expect(made >= 3 && made <= 16)
        let counted = try json(CommandRunner.run(base + ["--restarts", "5"]).standardOutput)
        #expect(counted["starts"] as? Int == 5)
        let a = try #require(adaptive["logLikelihood"] as? Double), b = try #require(counted["logLikelihood"] as? Double)
        #expect(abs(a - b) < 1e-3, "adaptive \(a), five starts \(b)")
    }

    @Test func benchTimesEveryKernel() throws {
        let r = try CommandRunner.run(["bench", "--rows", "2000", "--repetitions", "1", "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let kernels = try json(r.standardOutput)["kernels"] as? [[String: Any]] ?? []
        #expect(kernels.count == 8)
        #expect(kernels.allSatisfy { ($0["medianSeconds"] as? Double ?? -1) > 0 })
    }

    @Test func badInputFailsClearlyAndLeavesExistingOutputAlone() throws {
        let out = dir.appendingPathComponent("keep.json").path
        try "precious".write(toFile: out, atomically: true, encoding: .utf8)
        let ragged = dir.appendingPathComponent("ragged.csv").path
        try "a,b\n1,2\n3\n".write(toFile: ragged, atomically: true, encoding: .utf8)
        let text = dir.appendingPathComponent("text.csv").path
        try "a,b\n1,2\n3,abc\n".write(toFile: text, atomically: true, encoding: .utf8)
        let allMissing = dir.appendingPathComponent("allmissing.csv").path
        try "a,b\n1,2\nNA,\n3,5\n".write(toFile: allMissing, atomically: true, encoding: .utf8)
        let empty = dir.appendingPathComponent("empty.csv").path
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let cases: [([String], [String])] = [
            (["--data", ragged], ["ragged.csv", "row 3"]),
            (["--data", text], ["text.csv", "row 3", "'b'", "abc"]),
            (["--data", empty], ["empty.csv", "empty"]),
            (["--data", allMissing], ["allmissing.csv", "row(s) 3", "every value missing"]),
            (["--data", faithful, "--columns", "eruptions,nope"], ["nope", "eruptions, waiting"]),
            (["--data", faithful, "--components", "300"], ["272", "300"]),
        ]
        for (extra, fragments) in cases {
            var args = ["fit", "gmm", "--output", out] + extra
            if !extra.contains("--components") { args += ["--components", "2"] }
            let r = try CommandRunner.run(args)
            #expect(r.status != 0)
            for f in fragments { #expect(r.standardError.contains(f), "\(extra): \(r.standardError)") }
            #expect(try String(contentsOfFile: out, encoding: .utf8) == "precious")
        }
        let corrupt = dir.appendingPathComponent("corrupt.json").path
        try "{\"format\": \"latent-model\"".write(toFile: corrupt, atomically: true, encoding: .utf8)
        let r = try CommandRunner.run(["score", "--model", corrupt, "--data", faithful])
        #expect(r.status != 0 && r.standardError.contains("corrupt.json"))
    }
}

/// The BLAS kernels the tool runs on: never a pre-AVX2 fallback on a CPU with AVX2 and FMA (an
/// OpenBLAS older than the CPU picks one; the tool restarts itself with OPENBLAS_CORETYPE set).
@Test func theToolRunsBLASKernelsTheCPUCanUse() throws {
    let r = try CommandRunner.run(["bench", "--rows", "2000", "--repetitions", "1", "--json"])
    #expect(r.status == 0, "\(r.standardError)")
    let o = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
    let core = try #require(o["blasCore"] as? String)
    let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
    print("BLAS kernels: \(core)")
    if flags.contains("avx2") && flags.contains("fma") {
        #expect(!["prescott", "core2", "penryn", "nehalem", "sandybridge", "atom", "barcelona"].contains(core.lowercased()),
                "OpenBLAS runs its \(core) kernels on a CPU with AVX2 and FMA")
    }
}

/// The fit history is stored in the model file: EM's log-likelihood per iteration, never decreasing,
/// ending at the fitted value.
@Test func modelFilesKeepTheFitHistory() throws {
    let dir = TestData.temporaryDirectory(), model = dir.appendingPathComponent("h.json").path
    for (family, settings) in [("gmm", ["--components", "3"]), ("fa", ["--factors", "1"]), ("bayesian-gmm", ["--components", "4"])] {
        let fit = try CommandRunner.run(["fit", family, "--data", TestData.path("faithful.csv"), "--output", model, "--quiet"] + settings)
        #expect(fit.status == 0, "\(fit.standardError)")
        let info = try #require(JSONSerialization.jsonObject(with: Data(CommandRunner.run(["info", "--model", model, "--json"]).standardOutput.utf8)) as? [String: Any])
        let history = try #require(info["history"] as? [Double], "\(family): no history")
        #expect(history.count >= 2 && zip(history, history.dropFirst()).allSatisfy { $1 >= $0 - 1e-9 * abs($0) }, "\(family): \(history.prefix(5))")
        if family != "bayesian-gmm" {   // there the stored log-likelihood is the predictive's, the history the bound's
            #expect(abs(history.last! - (info["logLikelihood"] as! Double)) < 1e-6 * abs(history.last!), "\(family)")
        }
    }
}

/// Latent's C kernels run the widest instruction set the CPU has (read here from /proc/cpuinfo, not
/// from the library's own check) in the plain build, and `LATENT_SIMD` caps it: `baseline` forces
/// the SSE2 build on x86-64.
@Test func theKernelsUseTheWidestInstructionSetUnlessCapped() throws {
    func selected(_ environment: [String: String]) throws -> String {
        let r = try CommandRunner.run(["bench", "--rows", "1000", "--repetitions", "1", "--json"], environment: environment)
        #expect(r.status == 0, "\(r.standardError)")
        let o = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        return try #require(o["instructionSet"] as? String)
    }
    let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
    #if arch(x86_64)
    let hasAVX2 = flags.isSuperset(of: ["avx2", "fma"])
    let widest = hasAVX2 && flags.isSuperset(of: ["avx512f", "avx512dq", "avx512vl", "avx512bw"]) ? "avx512" : hasAVX2 ? "avx2" : "baseline"
    #else
    let widest = "baseline"
    #endif
    print("C kernels: \(widest) on this CPU")
    #expect(try selected([:]) == widest)
    #expect(try selected(["LATENT_SIMD": "baseline"]) == "baseline")
    #expect(try selected(["LATENT_SIMD": "avx2"]) == (widest == "baseline" ? "baseline" : "avx2"))
    // A value it does not know is named on standard error and ignored.
    let r = try CommandRunner.run(["bench", "--rows", "1000", "--repetitions", "1", "--json"], environment: ["LATENT_SIMD": "sse9"])
    #expect(r.status == 0 && r.standardError.contains("LATENT_SIMD=sse9 is not one of baseline, avx2, avx512"), "\(r.standardError)")
    #expect(try selected(["LATENT_SIMD": "sse9"]) == widest)
}
