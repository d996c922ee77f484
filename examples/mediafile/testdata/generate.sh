#!/usr/bin/env bash
# generate.sh regenerates the test media of examples/mediafile with ffmpeg
# (Debian: apt-get install ffmpeg). It is needed only to remake the fixtures,
# never to run or test the example. Run it from anywhere:
#
#	bash examples/mediafile/testdata/generate.sh
#
# video.ivf: 3 s of ffmpeg's test pattern, VP8 in IVF, 320x240 at 30 fps, one
# keyframe a second. 30 fps matches the time base Pion's ivfwriter records
# with, so the recording plays at the source's speed.
#
# audio.ogg: 3 s of a 440 Hz sine, Opus in Ogg, 48 kHz stereo, 20 ms packets,
# one packet per Ogg page (-page_duration 20000): oggreader returns a page's
# payload whole, so each page must hold exactly one Opus packet to be sent as
# one RTP packet.
set -euo pipefail
cd "$(dirname "$0")"

seconds=3

ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i "testsrc=size=320x240:rate=30:duration=${seconds}" \
	-c:v libvpx -b:v 250k -g 30 -deadline good -cpu-used 4 -threads 1 \
	-pix_fmt yuv420p -fflags +bitexact -flags:v +bitexact \
	video.ivf

ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i "sine=frequency=440:sample_rate=48000:duration=${seconds}" \
	-ac 2 -c:a libopus -b:a 48k -frame_duration 20 -application audio \
	-page_duration 20000 -fflags +bitexact -flags:a +bitexact \
	audio.ogg

ls -l video.ivf audio.ogg
