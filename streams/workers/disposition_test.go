package workers

import (
	"claimsctl/streams"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"

	"claimsctl/streams/claims"
)

func TestDispose(t *testing.T) {
	t.Parallel()
	o := Options{}.withDefaults("g") // MaxDeliveries 5
	event := map[string]any{"type": "claim.submitted"}
	malformed := &claims.MalformedError{ID: "1-0", Reason: `field "type" is missing`}
	tests := []struct {
		name    string
		d       streams.Delivery
		err     error
		want    disposition
		wantWhy string
	}{
		{"deleted while pending", streams.Delivery{ID: "1-0"}, errUnhandled, toAck, ""},
		{"malformed", streams.Delivery{ID: "1-0", Fields: event, Err: malformed}, errUnhandled, toDeadLetter, "not a claim event"},
		{"delivered too often", streams.Delivery{Fields: event, Deliveries: 6}, errUnhandled, toDeadLetter, "gave up after 5 deliveries (limit 5)"},
		{"fresh", streams.Delivery{Fields: event, Deliveries: 1}, errUnhandled, toHandle, ""},
		{"handled", streams.Delivery{Fields: event, Deliveries: 1}, nil, toAck, ""},
		{"redis went away", streams.Delivery{Fields: event, Deliveries: 5}, io.EOF, toLeavePending, ""},
		{"too early", streams.Delivery{Fields: event, Deliveries: 1}, fmt.Errorf("x: %w", claims.ErrOutOfOrder), toRetrySoon, ""},
		{"too early for too long", streams.Delivery{Fields: event, Deliveries: 1, Attempts: retrySoonLimit}, fmt.Errorf("x: %w", claims.ErrOutOfOrder), toLeavePending, ""},
		{"permanent", streams.Delivery{Fields: event, Deliveries: 1}, Permanent(errors.New("contradicts the store")), toDeadLetter, "contradicts the store"},
		{"failed, retries left", streams.Delivery{Fields: event, Deliveries: 4}, errors.New("boom"), toLeavePending, ""},
		{"failed the last time", streams.Delivery{Fields: event, Deliveries: 5}, errors.New("boom"), toDeadLetter, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := dispose(tt.d, tt.err, o)
			assert.Equal(t, tt.want, got, "got %s", got)
			if tt.wantWhy == "" {
				assert.NoError(t, why)
			} else if assert.Error(t, why) {
				assert.Contains(t, why.Error(), tt.wantWhy)
			}
		})
	}
}
