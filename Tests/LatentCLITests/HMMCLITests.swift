import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct HMMCLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func fitDecodeScoreAndSampleAGaussianHMM() throws {
        let nile = TestData.path("nile.csv")
        let model = dir.appendingPathComponent("nile.json").path
        let r = try CommandRunner.run(["fit", "hmm", "--data", nile, "--columns", "flow", "--states", "2", "--emission", "gaussian",
                                       "--regularization", "1e-3", "--restarts", "20", "--seed", "1", "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        for key in ["model", "meanLogLikelihood", "logLikelihood", "n", "parameters", "bic", "aic", "iterations", "converged", "seconds"] {
            #expect(o[key] != nil, "missing \(key)")
        }
        #expect(o["model"] as? String == "hmm" && o["n"] as? Int == 100)
        #expect((o["logLikelihood"] as? Double ?? -1e9) >= -629.8045 - 0.1)
        let path = try CommandRunner.run(["decode", "--model", model, "--data", nile]).standardOutput.split(separator: "\n").dropFirst().map { Int($0)! }
        #expect(path.count == 100)
        let change = (1..<100).first { path[$0] != path[$0 - 1] }
        #expect(change.map { (27...29).contains($0) } == true, "the change is at row \(String(describing: change)) (1898 is row 27)")
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", nile, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as! Double) - (o["logLikelihood"] as! Double)) < 1e-6)
        let sample = try CommandRunner.run(["sample", "--model", model, "--count", "4", "--seed", "2"]).standardOutput.split(separator: "\n")
        #expect(sample.first == "flow,state" && sample.count == 5)
    }

    @Test func sequencesSplitOnTheSequenceColumn() throws {
        let data = dir.appendingPathComponent("seq.csv").path
        try "id,count\n1,3\n1,4\n1,0\n2,7\n2,6\n3,1\n3,2\n3,2\n".write(toFile: data, atomically: true, encoding: .utf8)
        let model = dir.appendingPathComponent("seq.json").path
        let r = try CommandRunner.run(["fit", "hmm", "--data", data, "--sequence-column", "id", "--states", "2", "--emission", "poisson",
                                       "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(try json(r.standardOutput)["sequences"] as? Int == 3)
        let perSequence = try CommandRunner.run(["score", "--model", model, "--data", data]).standardOutput.split(separator: "\n")
        #expect(perSequence.count == 4 && perSequence[0] == "sequence,length,logLikelihood")
        let bad = dir.appendingPathComponent("bad.csv").path
        try "count\n1\n2.5\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let failure = try CommandRunner.run(["fit", "hmm", "--data", bad, "--states", "1", "--emission", "poisson", "--output", model])
        #expect(failure.status != 0 && failure.standardError.contains("row 3, column 'count'") && failure.standardError.contains("2.5"), "\(failure.standardError)")
    }

    /// hmmlearn's GMMHMM on the command line: fit, info, score, decode and sample a model whose
    /// states are mixtures; impossible settings refused with the flag named.
    @Test func gaussianMixtureEmissionsRoundTrip() throws {
        let data = TestData.path("faithful.csv")
        let model = dir.appendingPathComponent("faithful-gmmhmm.json").path
        let r = try CommandRunner.run(["fit", "hmm", "--data", data, "--states", "2", "--emission", "gmm", "--components-per-state", "2",
                                       "--covariance", "diag", "--seed", "4", "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        #expect(o["emission"] as? String == "gmm" && o["componentsPerState"] as? Int == 2 && o["covariance"] as? String == "diag")
        // 1 start + 2 transition + 2 within-state weights + 4 components × (2 means + 2 variances).
        #expect(o["parameters"] as? Int == 21)
        let info = try CommandRunner.run(["info", "--model", model])
        #expect(info.status == 0 && info.standardOutput.contains("gmm emissions"), "\(info.standardOutput)")
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", data, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as! Double) - (o["logLikelihood"] as! Double)) < 1e-6)
        let decoded = try CommandRunner.run(["decode", "--model", model, "--data", data]).standardOutput.split(separator: "\n")
        #expect(decoded.count == 273)
        let sample = try CommandRunner.run(["sample", "--model", model, "--count", "5", "--seed", "2"]).standardOutput.split(separator: "\n")
        #expect(sample.first == "eruptions,waiting,state" && sample.count == 6)
        let tied = try CommandRunner.run(["fit", "hmm", "--data", data, "--states", "2", "--emission", "gmm", "--covariance", "tied",
                                          "--output", model + ".tied", "--quiet"])
        #expect(tied.status != 0 && tied.standardError.contains("--covariance full, diag or spherical"), "\(tied.standardError)")
        let misplaced = try CommandRunner.run(["fit", "hmm", "--data", data, "--states", "2", "--components-per-state", "3",
                                               "--output", model + ".gauss", "--quiet"])
        #expect(misplaced.status != 0 && misplaced.standardError.contains("--components-per-state is for --emission gmm"), "\(misplaced.standardError)")
    }

    /// `fit hmm --stream` reads whole sequences a block at a time and gives the in-memory model from
    /// the same warm start; without a sequence column it is refused.
    /// Empty cells in a Gaussian HMM's data are integrated out by fit, score, decode and the streamed
    /// fit alike; count emissions refuse them, naming the row.
    @Test func gaussianHMMsIntegrateMissingValuesOut() throws {
        let lines = try String(contentsOfFile: TestData.path("geyser.csv"), encoding: .utf8).split(separator: "\n")
        // Sequences of 30 eruptions; every 7th waiting time missing, and one step with nothing observed.
        let rows = Array(lines.dropFirst()).enumerated().map { i, line -> String in
            let fields = line.split(separator: ",").map(String.init)
            if i == 40 { return "\(i / 30),," }
            return "\(i / 30),\(i % 7 == 3 ? "" : fields[0]),\(fields[1])"
        }
        let data = dir.appendingPathComponent("gaps.csv").path, model = dir.appendingPathComponent("gaps.json").path
        try (["id,waiting,duration"] + rows).joined(separator: "\n").write(toFile: data, atomically: true, encoding: .utf8)
        let common = ["--data", data, "--sequence-column", "id", "--states", "2", "--max-iterations", "30", "--tolerance", "0",
                      "--restarts", "1", "--seed", "2", "--json", "--quiet"]
        let fit = try CommandRunner.run(["fit", "hmm"] + common + ["--output", model])
        #expect(fit.status == 0, "\(fit.standardError)")
        let fitted = try json(fit.standardOutput)
        let total = try #require(fitted["logLikelihood"] as? Double)
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", data, "--json"]).standardOutput)
        #expect(abs((score["logLikelihood"] as? Double ?? 0) - total) <= 1e-9 * abs(total))
        let decoded = try CommandRunner.run(["decode", "--model", model, "--data", data])
        #expect(decoded.status == 0 && decoded.standardOutput.split(separator: "\n").count == 300, "\(decoded.standardError)")
        // The streamed fit from the same start follows the in-memory one.
        let inMemory = try CommandRunner.run(["fit", "hmm"] + common + ["--warm-start", model, "--output", dir.appendingPathComponent("g1.json").path])
        let streamed = try CommandRunner.run(["fit", "hmm"] + common + ["--warm-start", model, "--stream", "--block-rows", "50",
                                                                          "--output", dir.appendingPathComponent("g2.json").path])
        #expect(streamed.status == 0, "\(streamed.standardError)")
        let a = try #require(json(inMemory.standardOutput)["logLikelihood"] as? Double), b = try #require(json(streamed.standardOutput)["logLikelihood"] as? Double)
        #expect(abs(a - b) <= 1e-9 * abs(a), "in memory \(a), streamed \(b)")
        // Poisson emissions need every count.
        let poisson = try CommandRunner.run(["fit", "hmm", "--data", data, "--sequence-column", "id", "--states", "2", "--emission", "poisson",
                                             "--output", dir.appendingPathComponent("p.json").path])
        #expect(poisson.status != 0 && poisson.standardError.contains("gaps.csv") && poisson.standardError.contains("row"), "\(poisson.standardError)")
    }

    @Test func streamedFitsFollowTheInMemoryOnes() throws {
        let lines = try String(contentsOfFile: TestData.path("geyser.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        let data = dir.appendingPathComponent("stream-seq.csv").path
        try (["id,waiting,duration"] + lines.enumerated().map { "\($0.offset / 25),\($0.element)" }).joined(separator: "\n")
            .write(toFile: data, atomically: true, encoding: .utf8)
        let start = dir.appendingPathComponent("stream-start.json").path
        var r = try CommandRunner.run(["fit", "hmm", "--data", data, "--sequence-column", "id", "--states", "2", "--max-iterations", "2",
                                       "--tolerance", "0", "--restarts", "1", "--output", start, "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        var results: [[String: Any]] = []
        for extra in [[], ["--stream", "--block-rows", "60"]] {
            r = try CommandRunner.run(["fit", "hmm", "--data", data, "--sequence-column", "id", "--states", "2", "--warm-start", start,
                                       "--max-iterations", "15", "--tolerance", "0", "--output", dir.appendingPathComponent("s\(extra.count).json").path,
                                       "--json", "--quiet"] + extra)
            #expect(r.status == 0, "\(r.standardError)")
            results.append(try json(r.standardOutput))
        }
        let a = try #require(results[0]["logLikelihood"] as? Double), b = try #require(results[1]["logLikelihood"] as? Double)
        #expect(abs(a - b) <= 1e-9 * abs(a) && results[1]["sequences"] as? Int == 12 && results[1]["stream"] as? Bool == true)
        r = try CommandRunner.run(["fit", "hmm", "--data", data, "--states", "2", "--stream", "--output", dir.appendingPathComponent("x.json").path])
        #expect(r.status != 0 && r.standardError.contains("--sequence-column"), "\(r.standardError)")
    }
}
