/// The most recent events, in revision order, so a watch from a recent revision (the common case:
/// a client re-watching after a list) replays from memory instead of the history table.
struct EventRing {
    private var slots: [StoreEvent?]
    private var start = 0
    private var count = 0
    /// Every event with a revision above this is held. Starts at the store's revision when opened,
    /// because what came before is only on disk.
    private(set) var coveredAfter: Int64

    init(capacity: Int, revision: Int64) {
        slots = Array(repeating: nil, count: max(0, capacity))
        coveredAfter = revision
    }

    mutating func append(_ event: StoreEvent) {
        guard !slots.isEmpty else {
            coveredAfter = event.revision
            return
        }
        if count == slots.count {
            coveredAfter = slots[start]!.revision
            slots[start] = event
            start = (start + 1) % slots.count
        } else {
            slots[(start + count) % slots.count] = event
            count += 1
        }
    }

    /// The held events above `revision` whose key is in `range`; nil when the ring does not reach
    /// back that far, so the caller must read history from disk.
    func events(after revision: Int64, in range: KeyRange) -> [StoreEvent]? {
        guard revision >= coveredAfter else { return nil }
        var result: [StoreEvent] = []
        for offset in firstOffset(after: revision)..<count {
            let event = slots[(start + offset) % slots.count]!
            if range.contains(event.key) {
                result.append(event)
            }
        }
        return result
    }

    /// Binary search: the held revisions are increasing.
    private func firstOffset(after revision: Int64) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if slots[(start + middle) % slots.count]!.revision <= revision {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
