import Testing
@testable import ShoalAgent

/// The kubelet's crash-loop back-off (flowcontrol.Backoff as the kubelet configures it):
/// 10 s doubling up to the maximum, forgotten once nothing failed for twice the maximum.
@Suite struct BackoffTests {
    @Test func doublesFromTenSecondsUpToTheMaximum() {
        var b = Backoff()
        var waits: [Double] = []
        var now = 1000.0
        for _ in 0..<8 {
            b.next(now: now, max: 300)
            waits.append(b.duration)
            now += 1
        }
        #expect(waits == [10, 20, 40, 80, 160, 300, 300, 300])
    }

    @Test func aRestartWaitsOutTheDurationAfterTheFailure() {
        var b = Backoff()
        #expect(b.waitUntil(finishedAt: 100, now: 100, max: 300) == nil)  // the first restart is immediate
        b.next(now: 100, max: 300)
        #expect(b.waitUntil(finishedAt: 105, now: 106, max: 300) == 115)
        #expect(b.waitUntil(finishedAt: 105, now: 115, max: 300) == nil)
    }

    @Test func itIsForgottenAfterTwiceTheMaximumWithoutFailures() {
        var b = Backoff()
        for t in [0.0, 1, 2, 3] { b.next(now: t, max: 300) }
        #expect(b.duration == 80)
        // Ten minutes of running later (2 × 300 s), the next failure starts over at 10 s.
        #expect(b.waitUntil(finishedAt: 604, now: 604, max: 300) == nil)
        b.next(now: 604, max: 300)
        #expect(b.duration == 10)
    }

    @Test func theMaxBackoffFlagShortensOrDisablesIt() {
        var b = Backoff()
        b.next(now: 0, max: 2)
        #expect(b.duration == 2)
        #expect(b.waitUntil(finishedAt: 0, now: 1, max: 2) == 2)
        var none = Backoff()
        none.next(now: 0, max: 0)
        #expect(none.waitUntil(finishedAt: 0, now: 0, max: 0) == nil)
    }
}
