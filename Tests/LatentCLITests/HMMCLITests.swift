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
}
