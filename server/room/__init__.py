"""The member room: presence, the chair's floor and mute, attendance, quorum and roll-call votes.

`service.RoomService` is the registry of this node's rooms; `commands` is the chair's and the
members' command table; `votes` records ballots and attendance in the store and tells every node;
`shapes` holds the JSON the room, the public summary and the API share; `views` declares routes.
"""
