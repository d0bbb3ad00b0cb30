import Foundation
import ShoalAPI
import Testing
@testable import ShoalMaster

@Suite struct JobBackoffTests {
    func failedPod(finishedAt seconds: Int64) -> Pod {
        var p = Pod(metadata: ObjectMeta(name: "p"), spec: PodSpec(containers: []))
        var terminated = ContainerStateTerminated(exitCode: 1)
        terminated.finishedAt = Time(secondsSinceEpoch: seconds)
        p.status = PodStatus(phase: .failed, containerStatuses: [ContainerStatus(name: "c", state: ContainerState(terminated: terminated), ready: false, restartCount: 0, image: "busybox", imageID: "")])
        return p
    }

    @Test func theDelayDoublesFromTenSecondsAfterTheLatestFailureUpToSixMinutes() {
        #expect(Master.retryTime(afterFailuresOf: []) == nil)
        #expect(Master.retryTime(afterFailuresOf: [failedPod(finishedAt: 1000)]) == 1010)
        #expect(Master.retryTime(afterFailuresOf: [failedPod(finishedAt: 1000), failedPod(finishedAt: 1030)]) == 1050)
        #expect(Master.retryTime(afterFailuresOf: (0..<3).map { _ in failedPod(finishedAt: 1000) }) == 1040)
        #expect(Master.retryTime(afterFailuresOf: (0..<10).map { _ in failedPod(finishedAt: 1000) }) == 1360)
    }
}
