package simplepeer

import (
	"errors"
	"fmt"
)

// ErrorCode names the kind of failure, using simple-peer's err.code strings so
// that code ported from JavaScript can switch on the same values.
type ErrorCode string

// Error codes, one per err.code that simple-peer v9 sets.
const (
	ErrCodeWebRTCSupport           ErrorCode = "ERR_WEBRTC_SUPPORT"
	ErrCodePCConstructor           ErrorCode = "ERR_PC_CONSTRUCTOR"
	ErrCodeDestroyed               ErrorCode = "ERR_DESTROYED"
	ErrCodeSignaling               ErrorCode = "ERR_SIGNALING"
	ErrCodeSetRemoteDescription    ErrorCode = "ERR_SET_REMOTE_DESCRIPTION"
	ErrCodeSetLocalDescription     ErrorCode = "ERR_SET_LOCAL_DESCRIPTION"
	ErrCodeCreateOffer             ErrorCode = "ERR_CREATE_OFFER"
	ErrCodeCreateAnswer            ErrorCode = "ERR_CREATE_ANSWER"
	ErrCodeAddICECandidate         ErrorCode = "ERR_ADD_ICE_CANDIDATE"
	ErrCodeAddTransceiver          ErrorCode = "ERR_ADD_TRANSCEIVER"
	ErrCodeSenderRemoved           ErrorCode = "ERR_SENDER_REMOVED"
	ErrCodeSenderAlreadyAdded      ErrorCode = "ERR_SENDER_ALREADY_ADDED"
	ErrCodeTrackNotAdded           ErrorCode = "ERR_TRACK_NOT_ADDED"
	ErrCodeUnsupportedReplaceTrack ErrorCode = "ERR_UNSUPPORTED_REPLACETRACK"
	ErrCodeRemoveTrack             ErrorCode = "ERR_REMOVE_TRACK"
	ErrCodeDataChannel             ErrorCode = "ERR_DATA_CHANNEL"
	ErrCodeConnectionFailure       ErrorCode = "ERR_CONNECTION_FAILURE"
	ErrCodeICEConnectionFailure    ErrorCode = "ERR_ICE_CONNECTION_FAILURE"
	ErrCodeICEConnectionClosed     ErrorCode = "ERR_ICE_CONNECTION_CLOSED"
)

// Error is the error type of every failure the library reports: a simple-peer
// error code plus the underlying cause. Match it with errors.As or Code.
type Error struct {
	Code ErrorCode
	Err  error
}

// Error returns "CODE: cause".
func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Err.Error()
}

// Unwrap returns the cause, so errors.Is sees through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// Code returns the ErrorCode of the first *Error in err's chain, or "" when
// there is none.
func Code(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Causes wrapped in an *Error. Compare with errors.Is.
var (
	// ErrNotConnected: data was sent before the connect event.
	ErrNotConnected = errors.New("peer is not connected yet")
	// ErrMessageTooLarge: a message is larger than the remote accepts.
	ErrMessageTooLarge = errors.New("message is larger than the connection allows")
	// ErrInvalidSignal: Signal was given something it cannot use.
	ErrInvalidSignal = errors.New("invalid signal data")
	// ErrICEFailed: the ICE connection state became failed.
	ErrICEFailed = errors.New("ice connection failed")
	// ErrICEClosed: the ICE connection state became closed.
	ErrICEClosed = errors.New("ice connection closed")
	// ErrConnectionFailed: the peer connection state became failed.
	ErrConnectionFailed = errors.New("connection failed")
	// ErrNotCreated: a method was called on a nil or zero Peer, not one
	// made by New. Such a Peer behaves as a destroyed one (ERR_DESTROYED).
	ErrNotCreated = errors.New("peer was not created by New")
	// ErrNilTrack: a nil track was given to AddTrack, RemoveTrack,
	// ReplaceTrack (as the old track), AddStream, RemoveStream or
	// Options.Tracks.
	ErrNilTrack = errors.New("track is nil")
	// ErrTooManyCandidates: the remote sent more ICE candidates than a
	// peer accepts (maxRemoteCandidates per ICE session).
	ErrTooManyCandidates = errors.New("too many remote ICE candidates")
	// ErrSignalTooLarge: a signal (or its SDP or candidate) is larger than
	// a peer accepts (maxSignalSize, maxSDPSize, maxCandidateSize).
	ErrSignalTooLarge = errors.New("signal is too large")
)

func newError(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

func wrapError(code ErrorCode, err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Code == code {
		return e
	}
	return &Error{Code: code, Err: err}
}
