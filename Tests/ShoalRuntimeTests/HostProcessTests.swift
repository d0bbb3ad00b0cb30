import Testing
@testable import ShoalOS

@Suite struct HostProcessTests {
    @Test func statFieldsAreCountedFromTheLastParenthesis() throws {
        // A command name may hold spaces and parentheses.
        let line = "4242 (shoal (a) b) S 1 4242 4242 0 -1 4194560 1234 0 0 0 12 3 0 0 20 0 9 0 987654 123456 789 18446744073709551615"
        let (state, start) = try #require(HostProcess.parseStat(line))
        #expect(state == "S" && start == 987654)
        #expect(HostProcess.parseStat("garbage") == nil)
    }

    @Test func theCurrentProcessIsAliveAndKnownByItsStartTime() throws {
        let me = try #require(HostProcess.current(getpid()))
        #expect(me.isAlive)
        #expect(!HostProcess(pid: me.pid, startTime: me.startTime + 1).isAlive)
    }
}

import Glibc
