// Package pionapi builds raw Pion APIs for the benchmarks' baselines.
package pionapi

import (
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"
)

// Default returns an API the way webrtc.NewPeerConnection builds one
// (default codecs and interceptors), with se.
func Default(se webrtc.SettingEngine) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg)), nil
}
