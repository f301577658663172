package scripts

// MaxItems and MaxArgs bound one batch.lua call: a script
// blocks the server while it runs.
const (
	MaxItems = 200
	MaxArgs  = 20000
)

// Call is one batch.lua call: the effects at Items, in order, as its KEYS
// and ARGV.
type Call struct {
	Items []int
	Keys  []string
	Args  []any
}

// Pack packs effects into batch.lua calls, keeping their order. With
// slotOf (a cluster) a call holds effects of one slot only; effects of
// different slots touch different claims, so only each slot's order
// matters.
func Pack(effects []Effect, slotOf func(Effect) int) []Call {
	var calls []Call
	open := map[int]int{} // slot -> its call being filled, in calls
	index := map[int]map[string]int{}
	for i, e := range effects {
		slot := 0
		if slotOf != nil {
			slot = slotOf(e)
		}
		at, ok := open[slot]
		if ok {
			c := &calls[at]
			if len(c.Items) >= MaxItems || len(c.Args)+len(e.Args)+len(e.Keys)+3 > MaxArgs {
				ok = false
			}
		}
		if !ok {
			calls = append(calls, Call{Args: []any{0}})
			at = len(calls) - 1
			open[slot] = at
			index[slot] = map[string]int{}
		}
		c := &calls[at]
		c.Args = append(c.Args, e.Op, len(e.Keys))
		for _, k := range e.Keys {
			pos, ok := index[slot][k]
			if !ok {
				c.Keys = append(c.Keys, k)
				pos = len(c.Keys)
				index[slot][k] = pos
			}
			c.Args = append(c.Args, pos)
		}
		c.Args = append(c.Args, len(e.Args))
		c.Args = append(c.Args, e.Args...)
		c.Items = append(c.Items, i)
		c.Args[0] = len(c.Items)
	}
	return calls
}
