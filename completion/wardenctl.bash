# bash completion for wardenctl(1): commands, options, and program names asked from wardend
# (`wardenctl status`, through the same -s/-c as the line being completed; nothing is offered,
# and nothing is printed, when no daemon answers).
# Installed as /usr/share/bash-completion/completions/wardenctl; needs no bash-completion helpers.

_wardenctl_commands="status start stop restart signal pid show version shutdown reexec avail reread update reload
check import-supervisord tail logs maintail logrotate clear events wait shell help"

# Program names from the daemon: full names, then group:* for each group of several processes.
# $1...: the global options (-s SOCKET / -c FILE) found on the line.
_wardenctl_programs() {
  local out
  out=$(timeout 3 "${_wardenctl_bin:-wardenctl}" "$@" status 2>/dev/null </dev/null |
    awk '$2 ~ /^[A-Z]+$/ { print $1 }') || true
  [ -n "$out" ] || return 0
  printf '%s\n' "$out"
  printf '%s\n' "$out" | awk -F: 'NF > 1 { print $1 ":*" }' | sort -u
}

# Drops what bash already has before the last ':' of the word (COMP_WORDBREAKS splits at ':'),
# so that "webapps:a" completes to "webapps:api" rather than "webapps:webapps:api".
_wardenctl_colon_trim() {
  if [[ $1 == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix=${1%"${1##*:}"} k
    for k in "${!COMPREPLY[@]}"; do COMPREPLY[k]=${COMPREPLY[k]#"$prefix"}; done
  fi
}

_wardenctl() {
  # Split the line up to the cursor at blanks only: program names hold ':', which bash's
  # COMP_WORDS would split.
  local line=${COMP_LINE:0:COMP_POINT}
  local -a w
  read -ra w <<<"$line"
  [[ $line =~ [[:space:]]$ ]] && w+=("")
  ((${#w[@]})) || w=("")
  local cword=$((${#w[@]} - 1))
  local cur=${w[cword]} prev=""
  ((cword > 0)) && prev=${w[cword-1]}
  local _wardenctl_bin=${w[0]}
  local -a globals=()
  local i=1 command="" command_at=0
  # Global options come before the command; -s and -c take a value.
  while ((i < cword)); do
    case ${w[i]} in
      -s | -c | --socket | --config)
        globals+=("${w[i]}" "${w[i+1]}")
        ((i += 2))
        continue ;;
      -s?* | -c?* | --socket=* | --config=*) globals+=("${w[i]}") ;;
      -*) ;;
      *) command=${w[i]}; command_at=$i; break ;;
    esac
    ((i++))
  done

  if [ -z "$command" ]; then
    case $prev in
      -s | --socket | -c | --config)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return ;;
    esac
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "-s --socket -c --config --json --no-color -h --help --version" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$_wardenctl_commands" -- "$cur")
    fi
    return
  fi

  # The position of the word among the command's arguments (options and their values skipped).
  local index=0 j
  for ((j = command_at + 1; j < cword; j++)); do
    case ${w[j]} in
      -n | -c | --lines | --bytes | --timeout | -t) ((j++)) ;;
      -*) ;;
      *) ((index++)) ;;
    esac
  done
  case $prev in
    -n | -c | --lines | --bytes | --timeout | -t) return ;;
  esac

  if [[ $cur == -* ]]; then
    local opts="--help --json"
    case $command in
      tail | maintail) opts+=" -f -n -c --follow --lines --bytes" ;;
      logs) opts+=" -f -n --follow --lines" ;;
      events) opts+=" --current" ;;
      wait) opts+=" --timeout" ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return
  fi

  local words=""
  case $command in
    help) ((index == 0)) && words=$_wardenctl_commands ;;
    status | update | logrotate | events | logs) words=$(_wardenctl_programs "${globals[@]}") ;;
    start | stop | restart | clear) words="all $(_wardenctl_programs "${globals[@]}")" ;;
    pid | show) ((index == 0)) && words=$(_wardenctl_programs "${globals[@]}") ;;
    signal)
      if ((index == 0)); then
        words="HUP INT QUIT KILL USR1 USR2 TERM CONT STOP WINCH"
      else
        words="all $(_wardenctl_programs "${globals[@]}")"
      fi ;;
    tail)
      case $index in
        0) words=$(_wardenctl_programs "${globals[@]}") ;;
        1) words="stdout stderr" ;;
      esac ;;
    wait)
      case $index in
        0) words=$(_wardenctl_programs "${globals[@]}") ;;
        1) words="STOPPED STARTING RUNNING BACKOFF STOPPING EXITED FATAL" ;;
      esac ;;
    check | import-supervisord)
      ((index == 0)) && mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return ;;
  esac
  if [ -n "$words" ]; then
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
    _wardenctl_colon_trim "$cur"
  fi
}

complete -F _wardenctl wardenctl
