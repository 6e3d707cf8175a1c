package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// signatureHeader carries SalesIQ's signature of a webhook body.
const signatureHeader = "X-Siqsignature"

// parsePublicKeys reads the public_keys option: each key is PEM or Base64
// DER, SubjectPublicKeyInfo (what SalesIQ hands out) or PKCS#1.
func parsePublicKeys(raw []string) ([]*rsa.PublicKey, error) {
	keys := make([]*rsa.PublicKey, 0, len(raw))
	for i, s := range raw {
		k, err := parsePublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("option \"public_keys\" item %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func parsePublicKey(s string) (*rsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("malformed PEM block")
		}
		der = block.Bytes
	} else {
		compact := strings.Join(strings.Fields(s), "")
		var err error
		if der, err = base64.StdEncoding.DecodeString(compact); err != nil {
			if der, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(compact, "=")); err != nil {
				return nil, fmt.Errorf("neither PEM nor Base64: %w", err)
			}
		}
	}
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("want an RSA key, got %T", pub)
		}
		return k, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, errors.New("not an RSA public key (SubjectPublicKeyInfo or PKCS#1 DER)")
	}
	return k, nil
}

// verifySignature checks the Base64 RSA-SHA256 (PKCS#1 v1.5) signature of
// the exact body bytes against every configured key.
func verifySignature(keys []*rsa.PublicKey, body []byte, header string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return errors.New("missing x-siqsignature header")
	}
	sig, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		if sig, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(header, "=")); err != nil {
			return errors.New("x-siqsignature is not Base64")
		}
	}
	digest := sha256.Sum256(body)
	for _, k := range keys {
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil {
			return nil
		}
	}
	return errors.New("x-siqsignature does not match any configured public key")
}
