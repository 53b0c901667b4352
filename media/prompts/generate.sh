#!/usr/bin/env bash
# generate.sh makes the built-in English prompts: media/prompts/NAME.wav,
# 8 kHz mono 16-bit PCM, which media/prompts.go embeds in the binary.
#
# Needs espeak-ng and sox (Debian: apt-get install espeak-ng sox). Run it
# from anywhere; it writes beside itself:
#
#	media/prompts/generate.sh            # every prompt
#	media/prompts/generate.sh goodbye    # only the prompts named
#
# Each phrase is spoken by espeak-ng (voice en-us, 150 words a minute) at
# 22.05 kHz, then sox removes the leading and trailing silence, band-limits
# and resamples to 8 kHz mono, fades 10 ms in and out and normalises the
# peak to -3 dBFS, so every prompt has the same level. The beep is a
# 1000 Hz tone of 0.5 s at the same peak. The output is deterministic for a
# given espeak-ng and sox version; commit the WAV files it writes (and a
# new name's line in media/prompts.go's test if needed).
#
# To add a prompt, add a "name|phrase" line below (names are kebab-case)
# and run the script.
set -euo pipefail

VOICE=${VOICE:-en-us}
SPEED=${SPEED:-150}
PEAK=${PEAK:--3}
dir=$(cd "$(dirname "$0")" && pwd)

prompts=(
	"digit-0|zero" "digit-1|one" "digit-2|two" "digit-3|three" "digit-4|four"
	"digit-5|five" "digit-6|six" "digit-7|seven" "digit-8|eight" "digit-9|nine"
	"star|star" "pound|pound"
	"num-10|ten" "num-11|eleven" "num-12|twelve" "num-13|thirteen" "num-14|fourteen"
	"num-15|fifteen" "num-16|sixteen" "num-17|seventeen" "num-18|eighteen" "num-19|nineteen"
	"num-20|twenty" "num-30|thirty" "num-40|forty" "num-50|fifty" "num-60|sixty"
	"num-70|seventy" "num-80|eighty" "num-90|ninety"
	"hundred|hundred" "thousand|thousand"
	"leave-message|Please leave a message after the tone."
	"person-at-extension|The person at extension"
	"is-unavailable|is unavailable."
	"is-busy|is busy."
	"you-have|You have"
	"new|new"
	"old|old"
	"message|message"
	"messages|messages"
	"no-messages|no messages"
	"enter-extension|Please enter the extension number."
	"invalid-option|That is not a valid option."
	"try-again|Please try again."
	"no-input|We did not receive your selection."
	"goodbye|Goodbye."
	"please-hold|Please hold while we connect your call."
	"welcome|Welcome. Please enter the extension of the person you are calling, or hold for the operator."
	"enter-pin|Please enter your PIN, followed by the pound key."
	"wrong-pin|That PIN is incorrect."
	"enter-mailbox|Please enter the mailbox number, followed by the pound key."
	"main-menu|Press 1 to listen to your messages. Press 0 for mailbox options."
	"message-options|Press 1 to replay, 7 to delete, 9 to save, pound for the next message."
	"deleted|Message deleted."
	"saved|Message saved."
	"received-from|Received from"
	"at|at"
	"not-available|Sorry, nobody is available to take your call."
	"conference-pin|Please enter the conference PIN."
	"only-participant|You are the only participant."
	"record-greeting|Record your greeting after the tone, then press pound."
	"extension|extension"
	"first-message|First message."
	"next-message|Next message."
	"no-more-messages|No more messages."
	"greeting-saved|Your greeting has been saved."
	"mailbox-full|The mailbox is full."
	"transferring|Please wait while we transfer your call."
	"invalid-extension|That extension does not exist."
	"joined-conference|You are now in the conference."
	"conference-locked|This conference is locked."
	"conference-full|This conference is full."
	"muted|You are muted."
	"unmuted|You are no longer muted."
	"conference-now-locked|The conference is now locked."
	"conference-now-unlocked|The conference is now unlocked."
	"others-muted|Everyone else is muted."
	"others-unmuted|Everyone else may speak."
	"am|A M"
	"pm|P M"
	"today|today"
	"yesterday|yesterday"
	"day-0|Sunday" "day-1|Monday" "day-2|Tuesday" "day-3|Wednesday" "day-4|Thursday"
	"day-5|Friday" "day-6|Saturday"
	"month-1|January" "month-2|February" "month-3|March" "month-4|April" "month-5|May"
	"month-6|June" "month-7|July" "month-8|August" "month-9|September" "month-10|October"
	"month-11|November" "month-12|December"
	"oclock|o'clock"
	"and|and"
	"record-message|Record your message after the tone, then press pound."
	"mailbox-options|Press 1 to record your greeting, 2 to change your PIN, 3 to remove your greeting."
)

render() { # name phrase
	local raw trimmed
	raw=$(mktemp --suffix .wav)
	trimmed=$(mktemp --suffix .wav)
	espeak-ng -v "$VOICE" -s "$SPEED" -w "$raw" "$2"
	# Cut what is below -45 dBFS at the start, then (reversed) at the end;
	# remove rumble; resample to 8 kHz mono.
	sox -D "$raw" -r 8000 -c 1 -b 16 -e signed-integer "$trimmed" \
		silence 1 0.01 -45d reverse silence 1 0.01 -45d reverse \
		highpass 100 rate -v 8000
	# Now of known length: fade 10 ms in and out, peak at $PEAK dBFS.
	sox -D "$trimmed" "$dir/$1.wav" fade t 0.01 0 0.01 gain -n "$PEAK"
	rm -f "$raw" "$trimmed"
}

want=" $* "
for p in "${prompts[@]}"; do
	name=${p%%|*}
	if [[ $# -eq 0 || $want == *" $name "* ]]; then
		render "$name" "${p#*|}"
	fi
done
if [[ $# -eq 0 || $want == *" beep "* ]]; then
	sox -D -n -r 8000 -c 1 -b 16 -e signed-integer "$dir/beep.wav" \
		synth 0.5 sine 1000 fade t 0.01 0 0.01 gain -n "$PEAK"
fi
