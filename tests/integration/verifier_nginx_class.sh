#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The nginx snippets let only nginx choose the age class: a client that
# sends its own X-Agepass-Min-Age cannot lower it to a class the verifier
# also trusts (here 16). Real nginx, verifier and Redis on loopback.
# Usage: verifier_nginx_class.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: verifier_nginx_class.sh AGEPASS}")
. "$here/lib.sh"
. "$here/forward_auth.sh"

fa_setup
start_nginx "$verifier_port" "$proxy_port" || exit 2
fa_start_verifier
fa_base="http://127.0.0.1:$proxy_port"
check "a token of the class-18 key is made" fa_token t1 issuer
s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t1.authz")")
check "it opens the page ($s)" [ "$s" = 200 ]
check "a token of the class-16 key is made" fa_token t2 young
s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t2.authz")")
check "a class-16 token on an 18+ location: 401 ($s)" [ "$s" = 401 ]
check "a token of the class-16 key is made again" fa_token t3 young
s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t3.authz")" -H "X-Agepass-Min-Age: 16")
check "... with the client's own X-Agepass-Min-Age: 16, still 401 ($s)" [ "$s" = 401 ]
check "... without the content" fa_no_content
finish
