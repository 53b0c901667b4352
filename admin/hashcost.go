package admin

import "golang.org/x/crypto/bcrypt"

// HashPasswordCost hashes pw with bcrypt at cost (0: the default). The first
// start uses it so test PBXs can hash at the minimum cost.
func HashPasswordCost(pw string, cost int) (string, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	return hashPassword(pw, cost)
}
