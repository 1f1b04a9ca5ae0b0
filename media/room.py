"""The hybrid member room: remote DPRD members take part in a live sitting over WebRTC.

Encode once, deliver many (DESIGN "The media rule"): members receive the program as the very
H.264 packets of the LL-HLS ladder (aiortc only packetizes them), a mix-minus of the program
audio (the one Opus encode per member), and optionally other members' cameras as forwarded
packets. No video encoder is ever created here; `RoomStats.video_encoders` proves it.

The offer a member's client sends, m-lines in this order:

1. ``audio`` sendrecv: the microphone up (hard-muted on the server until
   `set_audio_allowed(key, True)`), the member's mix-minus down.
2. ``video`` sendrecv: the camera up (or recvonly when the camera is off), the program down.
3. With ``PeerOptions(gallery=True)``: up to `GALLERY_SLOTS` more ``video`` recvonly m-lines,
   the gallery slots. The room fills them with the members currently publishing a camera (in
   join order, never the member themselves) and refills a slot when its publisher leaves;
   `gallery(key)` and `on_gallery` say which member each slot shows. Renegotiation is not
   needed: a client that wants a different slot count joins again.

Video is negotiated as H.264 packetization-mode=1 only (aiortc supports only that mode, and
forwarded cameras must match every receiver), so a member's camera needs no transcoding. Each
camera is received as packets (`media.packets`), fanned out to gallery slots, and decoded once,
only while the program shows it (the floor holder under FLOOR, everyone under GRID).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidAccessError, OperationError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from media.forward import Camera, DecodedCamera, PacketTrack
from media.ingest import InvalidOffer, check_offer, to_rtc_ice_servers
from media.live import LiveSitting
from media.mixminus import OPUS_FRAME, MixMinus, MixMinusTrack, VoiceGate
from media.packets import (
    receive_packets,
    request_keyframe_from,
    sender_encodes_video,
    watch_sender_feedback,
)
from media.program import LayoutKind

log = logging.getLogger(__name__)

GALLERY_SLOTS = 6
MEMBER_RENDITIONS = ("720p", "360p")
LOSS_DOWNGRADE = 0.1  # a receiver report at or above 10% loss counts as a lossy report
LOSS_REPORTS = 3  # consecutive lossy reports before an adaptive 720p peer drops to 360p
_REPORTED_STATES = ("connected", "disconnected", "failed", "closed")
_OFFER_ERRORS = (
    ValueError,
    KeyError,
    IndexError,
    AssertionError,
    InternalError,
    InvalidAccessError,
    OperationError,
)


@dataclass(frozen=True)
class PeerOptions:
    """What a member asked for at join time.

    `adaptive`: on sustained loss reported by the member (`LOSS_REPORTS` receiver reports of at
    least `LOSS_DOWNGRADE`), a 720p peer is moved to 360p and `on_rendition` fires; it is
    never moved back up automatically (the server may call `set_rendition`).
    """

    rendition: str = "720p"
    gallery: bool = False
    adaptive: bool = True

    def __post_init__(self) -> None:
        if self.rendition not in MEMBER_RENDITIONS:
            raise ValueError(f"rendition must be one of {MEMBER_RENDITIONS}")


@dataclass
class RoomStats:
    """`video_encoders` counts senders that built a video encoder (0 by design);
    `opus_encoders` the mix-minus feeds (one Opus encode each); `packets_forwarded` and
    `drops` count video packets sent to, and withheld from (keyframe gating, overflow),
    members since the room opened; `audio_drops` 20 ms mix-minus frames dropped because a
    member's Opus encode fell behind; `decoding` the cameras decoded for the program now."""

    peers: int
    video_encoders: int
    opus_encoders: int
    packets_forwarded: int
    drops: int
    audio_drops: int
    cameras: int
    decoding: int


@dataclass(eq=False)
class _Peer:
    key: str
    pc: RTCPeerConnection
    options: PeerOptions
    rendition: str
    program: PacketTrack = field(default_factory=PacketTrack)
    mix: MixMinusTrack | None = None
    voice: VoiceGate | None = None
    camera: Camera | None = None
    decoded: DecodedCamera | None = None
    slots: list[PacketTrack] = field(default_factory=list)
    shown: list[Camera | None] = field(default_factory=list)
    video_senders: list[RTCRtpSender] = field(default_factory=list)
    audio_allowed: bool = False
    lossy_reports: int = 0

    @property
    def input_name(self) -> str:
        return f"member:{self.key}"


_RemoteCamera = tuple[MediaStreamTrack, RTCRtpTransceiver]


def _media_kinds(sdp: str) -> list[str]:
    return [line[2:].split()[0] for line in sdp.splitlines() if line.startswith("m=")]


def h264_preferences() -> list[RTCRtpCodecCapability]:
    """H.264 packetization-mode=1, constrained baseline (what our encoder makes) first; RTX."""
    caps = RTCRtpSender.getCapabilities("video").codecs
    h264 = [
        c
        for c in caps
        if c.mimeType.lower() == "video/h264" and c.parameters.get("packetization-mode") == "1"
    ]
    h264.sort(key=lambda c: c.parameters.get("profile-level-id") != "42e01f")
    return h264 + [c for c in caps if c.mimeType.lower() == "video/rtx"]


class MemberRoom:
    """All remote members of one live sitting; used from the event loop.

    Callbacks (all optional, called on the loop): `on_state(key, state)` with "connected",
    "disconnected", "failed" or "closed" for the member's current peer only (a peer replaced by
    a reconnect or ended by `leave` is not reported); `on_gallery(key, slots)` with the member
    key shown in each gallery slot (None for empty); `on_rendition(key, rendition)` when loss
    moved a peer down. A "failed" or "closed" peer is removed from the room.
    """

    def __init__(self, live: LiveSitting, ice_servers: list[dict] | None = None) -> None:
        self.live = live
        self.ice_servers = ice_servers or []
        self.on_state: Callable[[str, str], None] | None = None
        self.on_gallery: Callable[[str, list[str | None]], None] | None = None
        self.on_rendition: Callable[[str, str], None] | None = None
        self._peers: dict[str, _Peer] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._mix = MixMinus(live.samples_per_tick)
        live.add_audio_tap(self._mix.tap)
        self._forwarded_before = 0
        self._drops_before = 0
        self._closed = False

    # -- membership ----------------------------------------------------------------------

    async def join(
        self, member_key: str, offer_sdp: str, options: PeerOptions | None = None
    ) -> str:
        """Answer a member's offer (see the module docstring for its shape); returns the answer
        SDP. A second join for the same key replaces the old peer (reconnect). Every join
        starts with the microphone not allowed: the server re-applies the floor state.
        Raises `InvalidOffer` for an unusable offer (no video, no H.264 mode 1, bad SDP)."""
        if self._closed:
            raise RuntimeError("the member room is closed")
        options = options or PeerOptions()
        check_offer(offer_sdp)
        async with self._lock(member_key):
            old = self._peers.pop(member_key, None)
            if old is not None:
                await self._close_peer(old)
            # MAX_BUNDLE: with aiortc's default policy, transceivers made before the offer can
            # be left on a transport that BUNDLE then discards (their senders never start).
            config = RTCConfiguration(
                iceServers=to_rtc_ice_servers(self.ice_servers),
                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
            )
            peer = _Peer(member_key, RTCPeerConnection(config), options, options.rendition)
            self._add_transceivers(peer, _media_kinds(offer_sdp))
            try:
                await peer.pc.setRemoteDescription(
                    RTCSessionDescription(sdp=offer_sdp, type="offer")
                )
                camera_track, mic_track = self._remote_tracks(peer)
                await peer.pc.setLocalDescription(await peer.pc.createAnswer())
            except _OFFER_ERRORS as exc:
                await self._close_peer(peer)
                raise InvalidOffer(str(exc) or type(exc).__name__) from exc
            self._wire(peer, camera_track, mic_track)
            self._peers[member_key] = peer
            peer.pc.on("connectionstatechange", lambda: self._state_changed(peer))
            self._refresh_gallery()
            return peer.pc.localDescription.sdp

    async def leave(self, member_key: str) -> None:
        """Close the member's peer and take their camera and voice off the program."""
        async with self._lock(member_key):
            peer = self._peers.pop(member_key, None)
            if peer is not None:
                await self._close_peer(peer)
                self._refresh_gallery()

    def members(self) -> list[str]:
        return list(self._peers)

    def gallery(self, member_key: str) -> list[str | None]:
        """The member key each of the member's gallery slots shows (None: empty)."""
        return [c.name if c else None for c in self._peers[member_key].shown]

    async def close(self) -> None:
        self._closed = True
        for key in list(self._peers):
            await self.leave(key)
        self.live.remove_audio_tap(self._mix.tap)

    # -- controls ------------------------------------------------------------------------

    def set_audio_allowed(self, member_key: str, allowed: bool) -> None:
        """Hard mute: while not allowed, the member's audio is dropped here, on the server.
        Unknown members are ignored (they may have just left)."""
        peer = self._peers.get(member_key)
        if peer is None:
            return
        peer.audio_allowed = allowed
        if peer.voice is not None:
            peer.voice.allowed = allowed

    def set_rendition(self, member_key: str, rendition: str) -> None:
        """Switch the member's program video to another rendition's packets (from its next
        keyframe, which is requested). Unknown members are ignored."""
        if rendition not in MEMBER_RENDITIONS:
            raise ValueError(f"rendition must be one of {MEMBER_RENDITIONS}")
        peer = self._peers.get(member_key)
        if peer is None or peer.rendition == rendition:
            return
        peer.rendition = rendition
        peer.lossy_reports = 0
        peer.program.switch(self.live.subscribe(rendition))

    def stats(self) -> RoomStats:
        peers = list(self._peers.values())
        tracks = [t for p in peers for t in (p.program, *p.slots)]
        return RoomStats(
            peers=len(peers),
            video_encoders=sum(sender_encodes_video(s) for p in peers for s in p.video_senders),
            opus_encoders=self._mix.listeners,
            packets_forwarded=self._forwarded_before + sum(t.delivered for t in tracks),
            drops=self._drops_before + sum(t.dropped for t in tracks),
            audio_drops=sum(p.mix.dropped for p in peers if p.mix is not None) // OPUS_FRAME,
            cameras=sum(1 for p in peers if p.camera is not None),
            decoding=sum(1 for p in peers if p.decoded is not None and p.decoded.decoding),
        )

    # -- internals -----------------------------------------------------------------------

    def _lock(self, member_key: str) -> asyncio.Lock:
        return self._locks.setdefault(member_key, asyncio.Lock())

    def _add_transceivers(self, peer: _Peer, kinds: list[str]) -> None:
        """Our transceivers, made before the offer is applied so the offer's m-lines bind to
        them in order and the video ones carry H.264-only codec preferences."""
        videos = 0
        slots = GALLERY_SLOTS if peer.options.gallery else 0
        for kind in kinds:
            if kind == "audio" and peer.mix is None:
                peer.mix = self._mix.listen(peer.input_name)
                peer.pc.addTransceiver(peer.mix, direction="sendrecv")
            elif kind == "video" and videos <= slots:
                if videos == 0:
                    track, direction = peer.program, "sendrecv"
                else:
                    track, direction = PacketTrack(), "sendonly"
                    peer.slots.append(track)
                    peer.shown.append(None)
                transceiver = peer.pc.addTransceiver(track, direction=direction)
                transceiver.setCodecPreferences(h264_preferences())
                videos += 1

    def _remote_tracks(self, peer: _Peer) -> tuple[_RemoteCamera | None, MediaStreamTrack | None]:
        """The member's camera and microphone tracks, the camera switched to packets. Runs
        right after the offer is applied, before any receiver can start."""
        camera = mic = None
        for transceiver in peer.pc.getTransceivers():
            track = transceiver.receiver.track
            if track is None:
                continue
            ours = transceiver.sender.track is peer.program
            if track.kind == "video" and camera is None and ours:
                receive_packets(track)
                camera = (track, transceiver)
            elif track.kind == "audio" and mic is None:
                mic = track
        return camera, mic

    def _wire(
        self, peer: _Peer, camera: _RemoteCamera | None, mic: MediaStreamTrack | None
    ) -> None:
        for transceiver in peer.pc.getTransceivers():
            sender = transceiver.sender
            if isinstance(sender.track, PacketTrack):
                track = sender.track
                on_loss = (lambda f: self._loss(peer, f)) if track is peer.program else None
                watch_sender_feedback(sender, track.request_keyframe, on_loss)
                peer.video_senders.append(sender)
        if camera is not None:
            track, transceiver = camera
            receiver = transceiver.receiver
            peer.camera = Camera(
                peer.key,
                track,
                request_upstream_keyframe=lambda: request_keyframe_from(receiver),
                on_end=self._refresh_gallery,
            )
            peer.decoded = DecodedCamera(peer.camera, lambda: self._on_air(peer.input_name))
        if mic is not None:
            peer.voice = VoiceGate(mic)
        if peer.decoded is not None or peer.voice is not None:
            self.live.add_member_input(peer.input_name, video=peer.decoded, audio=peer.voice)
        peer.program.switch(self.live.subscribe(peer.rendition))

    def _on_air(self, input_name: str) -> bool:
        layout = self.live.layout
        return layout.kind is LayoutKind.GRID or (
            layout.kind is LayoutKind.FLOOR and layout.floor == input_name
        )

    def _loss(self, peer: _Peer, fraction: float) -> None:
        if not peer.options.adaptive or peer.rendition != "720p":
            return
        peer.lossy_reports = peer.lossy_reports + 1 if fraction >= LOSS_DOWNGRADE else 0
        if peer.lossy_reports >= LOSS_REPORTS and self._peers.get(peer.key) is peer:
            self.set_rendition(peer.key, "360p")
            if self.on_rendition:
                self.on_rendition(peer.key, "360p")

    async def _state_changed(self, peer: _Peer) -> None:
        state = peer.pc.connectionState
        if self._peers.get(peer.key) is not peer or state not in _REPORTED_STATES:
            return
        if self.on_state:
            self.on_state(peer.key, state)
        if state in ("failed", "closed"):
            async with self._lock(peer.key):
                if self._peers.get(peer.key) is peer:
                    del self._peers[peer.key]
                    await self._close_peer(peer)
                    self._refresh_gallery()

    async def _close_peer(self, peer: _Peer) -> None:
        self._mix.forget(peer.input_name, peer.mix)
        if peer.voice is not None or peer.decoded is not None:
            self.live.remove_member_input(peer.input_name)
        for track in (peer.program, *peer.slots):
            self._forwarded_before += track.delivered
            self._drops_before += track.dropped
            track.stop()
        for track in (peer.voice, peer.decoded):
            if track is not None:
                track.stop()
        if peer.camera is not None:
            peer.camera.close()
        await peer.pc.close()

    def _refresh_gallery(self) -> None:
        """Keep every gallery's slots on current publishers; fill empty slots in join order."""
        cameras = [p.camera for p in self._peers.values() if p.camera and p.camera.live]
        for peer in self._peers.values():
            if not peer.slots:
                continue
            wanted = [c for c in cameras if c is not peer.camera]
            shown = [c if c in wanted else None for c in peer.shown]
            for cam in wanted:
                if cam not in shown and None in shown:
                    shown[shown.index(None)] = cam
            if shown == peer.shown:
                continue
            for slot, old, new in zip(peer.slots, peer.shown, shown, strict=True):
                if old is not new:
                    slot.switch(new.fanout.subscribe() if new else None)
            peer.shown = shown
            if self.on_gallery:
                self.on_gallery(peer.key, self.gallery(peer.key))
